/**
 * The routing heartbeat on a thread of its own (started by `startWorkerHeartbeat`, heartbeat.ts):
 * its own NATS connection and its own event loop, so a main thread busy with requests (or the
 * socket backlog in front of its acks) does not make its heartbeat late. Every `beatMs` it puts
 * the member's key (a JetStream publish to `$KV.<bucket>.<key>`, as `kv.put` does), at most
 * three in flight, and after each acknowledged put stores the `process.hrtime` (ns) of its *send*
 * in the shared array, which the main thread reads for its lease (self-fencing). A SIGSTOP or a
 * stalled process stops this thread too, so the lease still lapses then.
 *
 * Messages from the main thread: `{ serving: number[] }` (announced in the next beats) and
 * `{ stop: true }` (no put starts after it; the thread closes its connection and exits once the
 * puts in flight are answered). To the main thread: `{ log: string }` (a failure, at most one a
 * second) and `{ started: true }` once the first put is acknowledged.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { connect, nkeyAuthenticator } from '@nats-io/transport-node'
import type { ProcessRef } from '../../system/processIdentity.js'

/** What the main thread gives the worker. */
export interface HeartbeatWorkerData {
  readonly servers: readonly string[]
  /** The processor's nkey seed in auth mode (the worker connects as the processor). */
  readonly nkeySeed?: string
  readonly name: string
  /** `$KV.<bucket>.<key>` of this member. */
  readonly subject: string
  readonly beatMs: number
  readonly partitions: number
  /** This process (`processIdentity.ts`), announced in every beat; undefined where it cannot be named. */
  readonly process: ProcessRef | undefined
  /**
   * `[0]`: `process.hrtime.bigint()` when the last acknowledged put was sent (0 before the first);
   * `[1]`: how many times the lease lapsed between two acknowledged puts (sent `leaseNs` or more apart).
   */
  readonly renewed: SharedArrayBuffer
  /** The lease (ns, as a decimal string: a bigint does not cross to a worker). */
  readonly leaseNs: string
}

const d = workerData as HeartbeatWorkerData
const port = parentPort
if (port === null) throw new Error('heartbeatWorker runs as a worker thread')
const renewed = new BigInt64Array(d.renewed)
const leaseNs = BigInt(d.leaseNs)
let serving: readonly number[] = []
let stopping = false
let inFlight = 0
let lastLog = 0
const log = (line: string): void => {
  const now = Date.now()
  if (now - lastLog < 1_000) return
  lastLog = now
  port.postMessage({ log: line })
}

const nc = await connect({
  servers: [...d.servers],
  name: d.name,
  maxReconnectAttempts: -1,
  ...(d.nkeySeed !== undefined ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(d.nkeySeed)) } : {}),
})
const decoder = new TextDecoder()

const beat = async (): Promise<void> => {
  const sent = process.hrtime.bigint()
  const m = await nc.request(d.subject, JSON.stringify({ at: Date.now(), partitions: d.partitions, serving, process: d.process }), { timeout: Math.max(1_000, d.beatMs * 3) })
  const ack = JSON.parse(decoder.decode(m.data)) as { seq?: number; error?: { description?: string } }
  if (ack.error !== undefined || typeof ack.seq !== 'number') throw new Error(`heartbeat not stored: ${ack.error?.description ?? decoder.decode(m.data)}`)
  const before = Atomics.load(renewed, 0)
  if (sent <= before) return
  // A lease that lapsed (a stop, a stall) is counted even if this put renews it at once: the main thread must still step back.
  if (before > 0n && sent - before >= leaseNs) Atomics.add(renewed, 1, 1n)
  Atomics.store(renewed, 0, sent)
}

let first = true
const onTimer = (): void => {
  if (stopping || inFlight >= 3) return
  inFlight++
  beat()
    .then(() => {
      if (first) port.postMessage({ started: true })
      first = false
    })
    .catch((e: unknown) => log(`routing: heartbeat failed: ${e instanceof Error ? e.message : String(e)}; retrying`))
    .finally(() => {
      inFlight--
      if (stopping && inFlight === 0) finish().catch(() => undefined)
    })
}
const timer = setInterval(onTimer, d.beatMs)
onTimer()

const finish = async (): Promise<void> => {
  clearInterval(timer)
  await nc.close().catch(() => undefined)
  port.close()
}

port.on('message', (m: { serving?: readonly number[]; stop?: boolean }) => {
  if (m.serving !== undefined) serving = m.serving
  if (m.stop === true && !stopping) {
    stopping = true
    clearInterval(timer)
    if (inFlight === 0) finish().catch(() => undefined)
  }
})
