/** One step of an ordered shutdown. */
export interface ShutdownStep {
  /** Said in the log when the step fails or runs out of time. */
  readonly name: string
  readonly run: () => Promise<unknown>
  /**
   * The step is given up (and the next one started) this long after the shutdown began: a
   * deadline from the signal, not from the step's own start, so steps sharing it share one budget.
   */
  readonly deadlineMs: number
}

export interface ShutdownOptions {
  /** The steps, in order; asked for when the first signal arrives. */
  readonly steps: () => readonly ShutdownStep[]
  readonly log: (message: string) => void
  /** Ends the process (default `process.exit`). */
  readonly exit?: (code: number) => void
}

export interface Shutdown {
  /**
   * A signal arrived: the first one runs the steps in order, then logs `stopped` and exits 0
   * (1 if a step failed or ran out of time); a second one exits at once with 1.
   */
  signal(name: string): void
  readonly stopping: boolean
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * An ordered shutdown: each step runs after the one before it has finished, failed or passed its
 * deadline, so a step that hangs (a request that never gets its ack, a connection that never
 * drains) cannot hold the process up past the last deadline. Never rejects, never throws.
 */
export const createShutdown = (o: ShutdownOptions): Shutdown => {
  const exit = o.exit ?? ((code: number) => process.exit(code))
  let stopping = false
  const run = async (): Promise<number> => {
    const started = Date.now()
    let code = 0
    for (const step of o.steps()) {
      const left = Math.max(0, started + step.deadlineMs - Date.now())
      let timer: NodeJS.Timeout | undefined
      const outcome = await Promise.race([
        step.run().then(
          () => 'done' as const,
          (e: unknown) => `failed: ${messageOf(e)}`,
        ),
        new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), left))),
      ])
      clearTimeout(timer)
      if (outcome === 'late') {
        code = 1
        o.log(`shutdown: ${step.name} did not finish within ${step.deadlineMs} ms of the signal; going on`)
      } else if (outcome !== 'done') {
        code = 1
        o.log(`shutdown: ${step.name} ${outcome}; going on`)
      }
    }
    return code
  }
  return {
    get stopping() {
      return stopping
    },
    signal(name) {
      if (stopping) {
        o.log(`${name} again: exiting now, without waiting`)
        exit(1)
        return
      }
      stopping = true
      run().then(
        (code) => {
          o.log('stopped')
          exit(code)
        },
        (e: unknown) => {
          o.log(`shutdown failed: ${messageOf(e)}`)
          exit(1)
        },
      )
    },
  }
}
