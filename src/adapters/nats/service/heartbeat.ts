import { Worker } from 'node:worker_threads'
import type { KV } from '@nats-io/kv'
import { thisProcess } from '../../system/processIdentity.js'
import type { HeartbeatWorkerData } from './heartbeatWorker.js'

/**
 * The routing membership heartbeat (partitionRouting.ts): puts the member's key every `beatMs` and
 * tells when the last acknowledged put was *sent*, on the process-wide monotonic clock
 * (`process.hrtime.bigint()`, the same in every thread), which the lease (self-fencing) is
 * measured from.
 */
export interface Heartbeat {
  /** `process.hrtime.bigint()` when the last acknowledged put was sent (0n before the first). */
  renewedAt(): bigint
  /**
   * How many times the lease lapsed so far: two acknowledged puts sent `leaseMs` or more apart. A
   * lapse is counted even when the put that ends it came back before anyone looked (a process
   * resumed after SIGSTOP renews within milliseconds), so the member still steps back.
   */
  lapses(): bigint
  /** The partitions announced in the next puts. */
  setServing(partitions: readonly number[]): void
  /** Stops: no put is sent or still in flight once it resolves (the key may be deleted then). */
  stop(): Promise<void>
}

/**
 * The value a member puts: wall time (for a first sight only), its partition count, what it
 * serves, and its process (so an instance on the same host can tell at once that it is gone).
 */
const beatValue = (partitions: number, serving: readonly number[]): string => JSON.stringify({ at: Date.now(), partitions, serving, process: thisProcess() })

/**
 * Logs that a timer fired `late` ms after it was due, when that is more than `periodMs` (the event
 * loop was busy or the process stopped), at most once per 10 s.
 */
export const lateTimerReporter = (what: string, periodMs: number, log: (message: string) => void): ((late: number, now: number) => void) => {
  let lastLog = Number.NEGATIVE_INFINITY
  return (late, now) => {
    if (late <= periodMs || now - lastLog <= 10_000) return
    lastLog = now
    log(`${what} ${Math.round(late)} ms late (the event loop was busy or the process stopped)`)
  }
}

/**
 * The heartbeat on this thread's event loop: a fixed-rate timer (a slow put does not hold up the
 * next; at most three in flight). A busy event loop makes it late: the member then fences itself
 * rather than be served twice. Resolves once the first put is acknowledged.
 */
export const startMainThreadHeartbeat = async (kv: KV, key: string, beatMs: number, leaseMs: number, partitions: number, log: (line: string) => void): Promise<Heartbeat> => {
  const leaseNs = BigInt(leaseMs) * 1_000_000n
  let renewed = 0n
  let lapses = 0n
  let serving: readonly number[] = []
  const inFlight = new Set<Promise<void>>()
  const beat = async (): Promise<void> => {
    const sent = process.hrtime.bigint()
    await kv.put(key, beatValue(partitions, serving))
    if (sent <= renewed) return
    if (renewed > 0n && sent - renewed >= leaseNs) lapses++
    renewed = sent
  }
  await beat()
  let due = performance.now() + beatMs
  const reportLate = lateTimerReporter('routing: heartbeat timer', beatMs, log)
  let stopped = false
  const onTimer = (): void => {
    const now = performance.now()
    reportLate(now - due, now)
    if (inFlight.size < 3) {
      const p: Promise<void> = beat()
        .catch((e: unknown) => log(`routing: heartbeat failed: ${e instanceof Error ? e.message : String(e)}; retrying`))
        .finally(() => void inFlight.delete(p))
      inFlight.add(p)
    }
    due = Math.max(due + beatMs, now + beatMs / 2)
    if (!stopped) timer = setTimeout(onTimer, Math.max(0, due - performance.now()))
  }
  let timer = setTimeout(onTimer, beatMs)
  return {
    renewedAt: () => renewed,
    lapses: () => lapses,
    setServing: (p) => void (serving = p),
    async stop() {
      stopped = true
      clearTimeout(timer)
      await Promise.all(inFlight)
    },
  }
}

/** Where the worker connects: the servers and, in auth mode, the processor's nkey seed. */
export interface HeartbeatConnection {
  readonly servers: readonly string[]
  readonly nkeySeed?: string
}

/**
 * The heartbeat on a worker thread with its own NATS connection (heartbeatWorker.ts): requests
 * queued on the main thread, or a main event loop busy for seconds on a loaded host, do not make
 * it late, so a slow instance is not taken for a dead one. A stopped process (SIGSTOP, a paused
 * VM) stops the worker too, and the lease lapses as it should. Resolves once the first put is
 * acknowledged; rejects if the worker fails first.
 */
export const startWorkerHeartbeat = async (conn: HeartbeatConnection, subject: string, beatMs: number, leaseMs: number, partitions: number, log: (line: string) => void): Promise<Heartbeat> => {
  const shared = new SharedArrayBuffer(16)
  const renewed = new BigInt64Array(shared)
  const leaseNs = String(BigInt(leaseMs) * 1_000_000n)
  const data: HeartbeatWorkerData = { servers: conn.servers, ...(conn.nkeySeed !== undefined ? { nkeySeed: conn.nkeySeed } : {}), name: 'allsource-heartbeat', subject, beatMs, partitions, process: thisProcess(), renewed: shared, leaseNs }
  // The build has the .js beside this file. Under tsx (development, tests) the source is TypeScript,
  // and a worker thread does not inherit tsx's loader: a one-line bootstrap registers it first.
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(new URL('./heartbeatWorker.ts', import.meta.url).href)}) })`, { eval: true, workerData: data })
    : new Worker(new URL('./heartbeatWorker.js', import.meta.url), { workerData: data })
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m: { log?: string; started?: boolean }) => {
      if (m.log !== undefined) log(m.log)
      if (m.started === true) resolve()
    })
    worker.once('error', (e) => reject(e))
    exited.then(() => reject(new Error('the heartbeat worker exited before its first heartbeat'))).catch(() => undefined)
  })
  worker.on('error', (e) => log(`routing: heartbeat worker failed: ${e.message}`))
  return {
    renewedAt: () => Atomics.load(renewed, 0),
    lapses: () => Atomics.load(renewed, 1),
    setServing: (p) => worker.postMessage({ serving: [...p] }),
    async stop() {
      worker.postMessage({ stop: true })
      await exited
    },
  }
}
