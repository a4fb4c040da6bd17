/**
 * A lean open-loop load generator for the overload run (scripts/overload.ts starts one or more as
 * child processes): `tsx scripts/overloadGenerator.ts '<json config>'`.
 *
 * Why not the client library: at ~6,600 requests/s for 60 s one process tracked ~280k outstanding
 * requests, each with its own timer and promise, and its event loop fell behind (it offered 4,666/s
 * and timed out its own requests). Here every request is one raw `publish` with a reply subject
 * under one wildcard inbox subscription, correlated by the reply token in a Map (insertion order =
 * send order), timed out by a single sweep every 100 ms (no timer per request), paced by a token
 * bucket refilled every 5 ms. Bodies are msgpack `{ events, commitId }`, as the client sends.
 *
 * It writes the commitIds answered OK and refused to `<out>.ok` and `<out>.refused` (one a line,
 * for the lost/duplicated check) and prints one JSON line: what it sent, how each was answered,
 * latencies (p50/p99/max ms) and how far its pacing fell behind.
 */
import { createWriteStream } from 'node:fs'
import { connect, createInbox } from '@nats-io/transport-node'
import { decodeMsgpack, encodeMsgpack } from '../src/adapters/codec/msgpack.js'

interface Config {
  readonly url: string
  readonly rate: number
  readonly seconds: number
  readonly tenant: string
  readonly streams: number
  /** Distinguishes this generator's commitIds and streams' request order from the others'. */
  readonly tag: string
  readonly offset: number
  readonly timeoutMs: number
  readonly out: string
}

type Kind = 'ok' | 'refused' | 'timeout' | 'noResponders' | 'other'

const config = JSON.parse(process.argv[2] ?? '{}') as Config
const nc = await connect({ servers: config.url, maxReconnectAttempts: -1 })
const inbox = createInbox()
const root = `${inbox}.`
/** Outstanding requests by reply token: when sent (ms, monotonic) and the commit's number. */
const pending = new Map<string, { readonly at: number; readonly n: number }>()
const latencies: Record<Kind, number[]> = { ok: [], refused: [], timeout: [], noResponders: [], other: [] }
let otherExample: string | undefined
let refusedExample: string | undefined
const okFile = createWriteStream(`${config.out}.ok`)
const refusedFile = createWriteStream(`${config.out}.refused`)
const commitIdOf = (n: number): string => `over-${config.tag}-${n}`

const settle = (kind: Kind, n: number, ms: number): void => {
  latencies[kind].push(ms)
  if (kind === 'ok') okFile.write(`${commitIdOf(n)}\n`)
  else if (kind === 'refused') refusedFile.write(`${commitIdOf(n)}\n`)
}

nc.subscribe(`${inbox}.*`, {
  callback: (err, msg) => {
    if (err !== null) return
    const token = msg.subject.slice(root.length)
    const p = pending.get(token)
    if (p === undefined) return // answered after its timeout
    pending.delete(token)
    const ms = performance.now() - p.at
    if (msg.data.length === 0 && msg.headers?.code === 503) return settle('noResponders', p.n, ms)
    if (msg.headers?.get('Nats-Service-Error-Code') === undefined || msg.headers.get('Nats-Service-Error-Code') === '') return settle('ok', p.n, ms)
    const e = (decodeMsgpack(msg.data) as { error?: { code?: string; message?: string } }).error
    if (e?.code === 'UNAVAILABLE') {
      refusedExample ??= e.message
      return settle('refused', p.n, ms)
    }
    otherExample ??= `${e?.code}: ${e?.message}`
    settle('other', p.n, ms)
  },
})

/** One sweep for every timeout: the Map is in send order, so it stops at the first one still in time. */
const sweep = (): void => {
  const cutoff = performance.now() - config.timeoutMs
  for (const [token, p] of pending) {
    if (p.at > cutoff) break
    pending.delete(token)
    settle('timeout', p.n, performance.now() - p.at)
  }
}
const sweeper = setInterval(sweep, 100)

const started = performance.now()
const end = started + config.seconds * 1_000
let sent = 0
let tokens = 0
let last = started
let maxBehind = 0
const burst = Math.max(1, config.rate * 0.05)
await new Promise<void>((resolve) => {
  const tick = (): void => {
    const now = performance.now()
    if (now >= end) {
      clearInterval(pacer)
      resolve()
      return
    }
    tokens = Math.min(burst, tokens + ((now - last) / 1_000) * config.rate)
    last = now
    for (; tokens >= 1; tokens--) {
      const n = sent++
      const i = config.offset + n
      const token = n.toString(36)
      pending.set(token, { at: performance.now(), n })
      nc.publish(`allsource.append.${config.tenant}.s${i % config.streams}`, encodeMsgpack({ events: [{ type: 'overload.tick', payload: { i } }], commitId: commitIdOf(n) }), { reply: `${root}${token}` })
    }
    // How far sending fell behind the clock (what the bucket's cap dropped is not sent later).
    maxBehind = Math.max(maxBehind, ((now - started) / 1_000) * config.rate - sent)
  }
  const pacer = setInterval(tick, 5)
})
const sendSeconds = (performance.now() - started) / 1_000
// Wait for the last answers (or their timeout).
while (pending.size > 0) {
  await new Promise((r) => setTimeout(r, 100))
}
clearInterval(sweeper)
await new Promise((r) => okFile.end(r))
await new Promise((r) => refusedFile.end(r))
await nc.close()

const quantile = (xs: number[], q: number): number => {
  xs.sort((a, b) => a - b)
  return xs.length === 0 ? Number.NaN : Math.round(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number)
}
const ms = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: Math.round(xs.reduce((a, b) => Math.max(a, b), 0)) })
process.stdout.write(
  `${JSON.stringify({
    tag: config.tag,
    sent,
    offeredPerSecond: Math.round(sent / sendSeconds),
    targetPerSecond: config.rate,
    maxBehindRequests: Math.round(maxBehind),
    ok: latencies.ok.length,
    okMs: ms(latencies.ok),
    refused: latencies.refused.length,
    refusedMs: ms(latencies.refused),
    refusedExample,
    timeouts: latencies.timeout.length,
    noResponders: latencies.noResponders.length,
    other: latencies.other.length,
    otherExample,
    cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1_000),
  })}\n`,
)
