/**
 * Where a projection's read model lives right now. A rebuild folds into the next generation's
 * bucket while the current one keeps serving reads, then the pointer switches.
 */
export interface ReadModelPointer {
  /** The definition version whose fold built this read model. */
  readonly version: number
  readonly generation: number
  /** The first log offset folded into it (1 = the whole log). */
  readonly fromOffset: number
  /** The rebuild request that produced it, if any. */
  readonly rebuildId?: string
}

/** What operators asked of a projection; kept durably, so it survives restarts and takeovers. */
export interface ProjectionControl {
  readonly paused: boolean
  /** Bumped by every resume: a projection parked on a poison event retries once per bump. */
  readonly retry: number
  readonly rebuild?: { readonly id: string; readonly fromOffset: number }
}

export const noControl: ProjectionControl = { paused: false, retry: 0 }

/** KV bucket of one generation of a projection's read model. */
export const bucketName = (name: string, generation: number): string => `ALLSOURCE_PROJ_${name}_${generation}`
/** Durable consumer that feeds one generation. */
export const durableName = (name: string, generation: number): string => `proj_${name}_${generation}`

/** The read model a projection starts with when it has none yet. */
export const firstPointer = (version: number): ReadModelPointer => ({ version, generation: 1, fromOffset: 1 })

/**
 * Whether the read model must be rebuilt, and from where: an operator's request not yet carried out,
 * or a definition whose version is newer than the one that built the current read model (a changed
 * fold is rebuilt from the start of the log, deliberately, never mixed into the old state). An
 * older definition never rebuilds a newer read model.
 */
export const rebuildWanted = (
  version: number,
  pointer: ReadModelPointer,
  control: ProjectionControl,
): { readonly id: string; readonly fromOffset: number } | undefined => {
  // A read model built by a newer fold is left alone by an older one (a rolling upgrade).
  if (pointer.version > version) return undefined
  if (control.rebuild !== undefined && control.rebuild.id !== pointer.rebuildId) return control.rebuild
  if (pointer.version !== version) return { id: `version-${version}`, fromOffset: 1 }
  return undefined
}

/** The pointer a finished rebuild switches to. */
export const rebuiltPointer = (version: number, current: ReadModelPointer, rebuild: { readonly id: string; readonly fromOffset: number }): ReadModelPointer => ({
  version,
  generation: current.generation + 1,
  fromOffset: Math.max(1, rebuild.fromOffset),
  rebuildId: rebuild.id,
})

/** Retry delay after a transient failure: 250 ms doubling to at most 30 s. */
export const backoffMs = (attempts: number): number => Math.min(30_000, 250 * 2 ** Math.min(attempts, 10))

export type ProjectionState = 'standby' | 'starting' | 'catching-up' | 'live' | 'paused' | 'rebuilding' | 'failed' | 'stopped'

/** What `status` reports of one projection. */
export interface ProjectionStatus {
  readonly name: string
  readonly version: number
  readonly state: ProjectionState
  /** Offset of the last commit fully folded and acknowledged. */
  readonly checkpoint: number
  /** Commits of the log not yet folded (one commit holds one or more events). */
  readonly lag: number
  /** Events folded per second, over the last interval. */
  readonly eventsPerSecond: number
  readonly generation?: number
  readonly rebuild?: { readonly id: string; readonly fromOffset: number; readonly checkpoint: number; readonly lag: number }
  readonly lastError?: { readonly message: string; readonly offset?: number; readonly at: string }
  /** The processor instance that holds the lease and folds it. */
  readonly owner?: string
  readonly updatedAt?: string
}
