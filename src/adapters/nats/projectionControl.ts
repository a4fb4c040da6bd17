import { Kvm, type KV, type KvEntry } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import {
  firstPointer,
  noControl,
  type ProjectionControl,
  type ProjectionStatus,
  type ReadModelPointer,
} from '../../domain/projections/operations.js'

/**
 * The KV bucket that coordinates projections across processor instances. Per projection `<name>`:
 *
 * - `<name>.active`: the read-model pointer (which generation serves reads);
 * - `<name>.control`: pause, resume and rebuild requests (durable: they survive restarts);
 * - `<name>.lease`: which instance folds it (renewed by compare-and-set; see {@link ProjectionLease});
 * - `<name>.status`: the owner's last status report.
 */
export const CONTROL_BUCKET = 'ALLSOURCE_PROJECTIONS'

const json = (e: KvEntry | null): unknown => (e === null || e.operation !== 'PUT' ? undefined : e.json())
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface ProjectionCatalog {
  readonly kv: KV
  /** The read-model pointer, or undefined if the projection never ran. */
  pointer(name: string): Promise<ReadModelPointer | undefined>
  /** The pointer, created for `version` if the projection never ran. */
  ensurePointer(name: string, version: number): Promise<ReadModelPointer>
  /** Switches the pointer, only if it still is `from` (compare-and-set). */
  switchPointer(name: string, from: ReadModelPointer, to: ReadModelPointer): Promise<void>
  control(name: string): Promise<ProjectionControl>
  /** Changes the control record atomically (retried on a concurrent change); returns the new one. */
  updateControl(name: string, change: (c: ProjectionControl) => ProjectionControl): Promise<ProjectionControl>
  /** Calls back with the control record now and on every change; returns a stop function. */
  watchControl(name: string, onChange: (c: ProjectionControl) => void): Promise<() => void>
  /** Calls back with every pointer now and on every change; returns a stop function. */
  watchPointers(onChange: (name: string, p: ReadModelPointer) => void): Promise<() => void>
  putStatus(status: ProjectionStatus): Promise<void>
  statuses(): Promise<readonly ProjectionStatus[]>
}

export const openProjectionCatalog = async (nc: NatsConnection, options: { readonly replicas?: number } = {}): Promise<ProjectionCatalog> => {
  const kv = await new Kvm(nc).create(CONTROL_BUCKET, { history: 1, ...(options.replicas !== undefined ? { replicas: options.replicas } : {}) })

  const casLoop = async <T>(key: string, change: (current: T | undefined) => T): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const e = await kv.get(key)
      const next = change(json(e) as T | undefined)
      try {
        if (e === null) await kv.create(key, JSON.stringify(next))
        else await kv.update(key, JSON.stringify(next), e.revision)
        return next
      } catch (err) {
        if (attempt >= 20) throw err
        await sleep(5 + Math.random() * 20)
      }
    }
  }

  return {
    kv,
    pointer: async (name) => json(await kv.get(`${name}.active`)) as ReadModelPointer | undefined,
    ensurePointer: (name, version) => casLoop<ReadModelPointer>(`${name}.active`, (p) => p ?? firstPointer(version)),
    async switchPointer(name, from, to) {
      const e = await kv.get(`${name}.active`)
      const now = json(e) as ReadModelPointer | undefined
      if (e === null || now === undefined || now.generation !== from.generation) {
        throw new Error(`the read model of "${name}" moved to generation ${now?.generation ?? 'none'} meanwhile`)
      }
      await kv.update(`${name}.active`, JSON.stringify(to), e.revision)
    },
    control: async (name) => ({ ...noControl, ...((json(await kv.get(`${name}.control`)) as ProjectionControl | undefined) ?? {}) }),
    updateControl: (name, change) => casLoop<ProjectionControl>(`${name}.control`, (c) => change({ ...noControl, ...(c ?? {}) })),
    async watchControl(name, onChange) {
      // The watch delivers the current value first, if there is one.
      const w = await kv.watch({ key: `${name}.control` })
      if ((await kv.get(`${name}.control`)) === null) onChange(noControl)
      void (async () => {
        for await (const e of w) onChange({ ...noControl, ...((json(e) as ProjectionControl | undefined) ?? {}) })
      })()
      return () => w.stop()
    },
    async watchPointers(onChange) {
      const w = await kv.watch({ key: '*.active' })
      void (async () => {
        for await (const e of w) {
          const p = json(e) as ReadModelPointer | undefined
          if (p !== undefined) onChange(e.key.slice(0, -'.active'.length), p)
        }
      })()
      return () => w.stop()
    },
    async putStatus(status) {
      await kv.put(`${status.name}.status`, JSON.stringify(status))
    },
    async statuses() {
      const out: ProjectionStatus[] = []
      const keys = await kv.keys('*.status')
      for await (const k of keys) {
        const s = json(await kv.get(k)) as ProjectionStatus | undefined
        if (s !== undefined) out.push(s)
      }
      return out.sort((a, b) => a.name.localeCompare(b.name))
    },
  }
}

/**
 * At most one instance folds a projection: the one holding its lease, a KV entry renewed by
 * compare-and-set every `ttlMs / 3`. Another instance takes it over when the entry's revision has
 * not changed for `ttlMs` by its own clock (so clock skew between machines does not matter), or at
 * once when the holder released it on a clean stop. A holder that cannot renew stops folding; writes
 * to the read model are compare-and-set as well, so a stale holder is fenced off even in the gap.
 */
export class ProjectionLease {
  private revision = 0
  private held = false

  constructor(
    private readonly kv: KV,
    private readonly name: string,
    private readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  private get key(): string {
    return `${this.name}.lease`
  }

  /** Whether this instance held the lease at its last renewal. */
  isHeld(): boolean {
    return this.held
  }

  /** Resolves once the lease is ours; polls until then. Rejects only when `signal` aborts. */
  async acquire(signal: AbortSignal): Promise<void> {
    let watched: { revision: number; since: number } | undefined
    while (!signal.aborted) {
      const e = await this.kv.get(this.key)
      const v = json(e) as { owner?: string; released?: boolean; ttlMs?: number } | undefined
      const now = performance.now()
      if (e !== null && (watched === undefined || watched.revision !== e.revision)) watched = { revision: e.revision, since: now }
      const free = e === null || v === undefined || v.released === true || v.owner === this.owner
      const expired = watched !== undefined && now - watched.since >= Math.max(this.ttlMs, v?.ttlMs ?? 0)
      if (free || expired) {
        try {
          const body = JSON.stringify({ owner: this.owner, ttlMs: this.ttlMs })
          this.revision = e === null ? await this.kv.create(this.key, body) : await this.kv.update(this.key, body, e.revision)
          this.held = true
          return
        } catch {
          // someone else got it first
        }
      }
      await sleep(Math.max(50, Math.min(this.ttlMs / 4, 1_000)))
    }
    throw new Error('stopped')
  }

  /** Renews the lease; false (and no longer held) if someone else took it. */
  async renew(): Promise<boolean> {
    try {
      this.revision = await this.kv.update(this.key, JSON.stringify({ owner: this.owner, ttlMs: this.ttlMs }), this.revision)
      return true
    } catch {
      this.held = false
      return false
    }
  }

  /** Gives the lease up at once, so another instance need not wait for it to expire. */
  async release(): Promise<void> {
    if (!this.held) return
    this.held = false
    await this.kv.update(this.key, JSON.stringify({ owner: this.owner, released: true }), this.revision).catch(() => undefined)
  }

  get renewEveryMs(): number {
    return Math.max(50, Math.floor(this.ttlMs / 3))
  }
}
