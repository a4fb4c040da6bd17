import { connect } from '@nats-io/transport-node'
import { Pool } from 'undici'
import { createAllSourceClient } from '../src/adapters/nats/service/client.js'
import { payload } from './scenarios/common.js'

/**
 * The gateway scenario's client, as a separate process. Modes:
 * - `http <baseUrl> <events> <streams>`: `streams` loops at once, each appending sequentially with
 *   `POST /v1/tenants/bench/streams/s-<n>` over one keep-alive undici Pool of 1,000 connections
 *   (no pipelining): every loop has its request in flight, as the NATS client's loops do;
 * - `http-seq <baseUrl> <events>` and `nats-seq <natsUrl> <events>`: sequential appends to one
 *   stream, after 50 unmeasured warm-up appends; each append's latency.
 * Prints one JSON line: count, elapsed ms, this process's CPU microseconds, and for the
 * sequential modes the p50 and p99 in ms.
 */
const [mode, url, eventsArg, streamsArg] = process.argv.slice(2) as [string, string, string, string?]
const events = Number(eventsArg)
const body = (i: number, s: number) => JSON.stringify({ events: [{ type: 'thing.happened', payload: payload(i, s) }] })
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN

const report = (o: Record<string, number>) => process.stdout.write(`${JSON.stringify(o)}\n`)

if (mode === 'http' || mode === 'http-seq') {
  const pool = new Pool(url, { connections: mode === 'http' ? 1_000 : 1, pipelining: 1, keepAliveTimeout: 60_000 })
  const append = async (stream: string, i: number, s: number) => {
    const res = await pool.request({ path: `/v1/tenants/bench/streams/${stream}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: body(i, s) })
    const text = await res.body.text()
    if (res.statusCode !== 201) throw new Error(`append answered ${res.statusCode}: ${text.slice(0, 200)}`)
  }
  if (mode === 'http') {
    const streams = Number(streamsArg)
    const per = Math.ceil(events / streams)
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await Promise.all(Array.from({ length: streams }, async (_, s) => {
      for (let i = 0; i < per; i++) await append(`s-${s}`, i, s)
    }))
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(c0)
    report({ count: per * streams, ms, cpuMicros: cpu.user + cpu.system })
  } else {
    for (let i = 0; i < 50; i++) await append('seq-warm', i, 0)
    const lat: number[] = []
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < events; i++) {
      const a = performance.now()
      await append('seq-http', i, 0)
      lat.push(performance.now() - a)
    }
    const cpu = process.cpuUsage(c0)
    report({ count: events, ms: performance.now() - t0, cpuMicros: cpu.user + cpu.system, p50: pct(lat, 0.5), p99: pct(lat, 0.99) })
  }
  await pool.close()
} else if (mode === 'nats-seq') {
  const nc = await connect({ servers: url })
  const client = createAllSourceClient(nc, { timeoutMs: 60_000 })
  for (let i = 0; i < 50; i++) await client.append('bench', 'seq-warm-nats', [{ type: 'thing.happened', payload: payload(i, 0) }])
  const lat: number[] = []
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < events; i++) {
    const a = performance.now()
    await client.append('bench', 'seq-nats', [{ type: 'thing.happened', payload: payload(i, 0) }])
    lat.push(performance.now() - a)
  }
  const cpu = process.cpuUsage(c0)
  report({ count: events, ms: performance.now() - t0, cpuMicros: cpu.user + cpu.system, p50: pct(lat, 0.5), p99: pct(lat, 0.99) })
  await nc.close()
} else {
  throw new Error(`unknown mode ${mode}`)
}
