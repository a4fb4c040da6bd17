import { execFile } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import * as E from 'fp-ts/lib/Either.js'
import { registerLiveRoutes } from '../../src/adapters/http/liveRoutes.js'
import { natsProjectionSource, replayEventSource } from '../../src/adapters/http/liveSources.js'
import { createProjectionReader } from '../../src/adapters/nats/projections/projectionReader.js'
import { createAllSource } from '../../src/main/allSource.js'
import { median, type Row } from '../report.js'
import { type BenchServer, freshServer } from './common.js'
import { replayLibrary, writeLog } from './replay.js'

const clientScript = resolve(dirname(fileURLToPath(import.meta.url)), '../liveClient.ts')

export interface LiveResult {
  /** Events per second delivered to the one WebSocket reader (catch-up from offset 1, following). */
  readonly eventsPerSecond: number
  /** The library iterator over the same log in the same round (the ceiling the socket adds to). */
  readonly libraryPerSecond: number
  /** CPU µs per event: the reader process, and the bench process (processor and gateway). */
  readonly clientCpu: number
  readonly gatewayCpu: number
}

/**
 * A log of `events` events (commits of 10 over 1,000 streams, written raw), a processor and the
 * live routes (auth off, default limits) in this process, and one reader in another process that
 * opens `/v1/tenants/bench/events/live?fromOffset=1` and parses every message until it has them all.
 */
export const liveWebSocket = async (b: BenchServer, events: number): Promise<LiveResult> => {
  await writeLog(b, events, 1_000, 10)
  const app = await createAllSource({ nc: b.nc, warn: () => undefined })
  const reader = await createProjectionReader(b.nc)
  const http = Fastify({ logger: false })
  try {
    await registerLiveRoutes(http, {
      authorize: () => Promise.resolve(E.right(undefined)),
      events: replayEventSource(b.nc, app.replay),
      projections: natsProjectionSource(b.nc, reader),
    })
    await http.listen({ host: '127.0.0.1', port: 0 })
    const url = `ws://127.0.0.1:${(http.server.address() as AddressInfo).port}/v1/tenants/bench/events/live?fromOffset=1`
    const libraryPerSecond = await replayLibrary(b, events)
    const c0 = process.cpuUsage()
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', clientScript, url, String(events)], { maxBuffer: 1 << 20 })
    const cpu = process.cpuUsage(c0)
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { count: number; ms: number; cpuMicros: number }
    if (r.count !== events) throw new Error(`the live reader got ${r.count} of ${events} events`)
    return { eventsPerSecond: r.count / (r.ms / 1000), libraryPerSecond, clientCpu: r.cpuMicros / r.count, gatewayCpu: (cpu.user + cpu.system) / r.count }
  } finally {
    await http.close()
    reader.close()
    await app.close()
  }
}

/** Scenario 15's rows: `R` rounds on fresh servers (a 200,000-event log; 20,000 when quick). */
export const liveRows = async (quick: boolean, R: number): Promise<Row[]> => {
  const events = quick ? 20_000 : 200_000
  const rs: LiveResult[] = []
  for (let i = 0; i < R; i++) {
    const b = await freshServer()
    try {
      rs.push(await liveWebSocket(b, events))
    } finally {
      await b.stop()
    }
  }
  const s = '15 live WebSocket'
  const col = (f: (r: LiveResult) => number) => ({ value: median(rs.map(f)), rounds: rs.map(f) })
  return [
    { scenario: s, metric: `one reader, ${events.toLocaleString('en-US')} events from offset 1`, unit: 'events/s', target: '≥ 20000', ...col((r) => r.eventsPerSecond) },
    { scenario: s, metric: 'library iterator, same log', unit: 'events/s', ...col((r) => r.libraryPerSecond) },
    { scenario: s, metric: 'cpu reader (JSON.parse)', unit: 'µs/event', value: median(rs.map((r) => r.clientCpu)) },
    { scenario: s, metric: 'cpu processor + gateway', unit: 'µs/event', value: median(rs.map((r) => r.gatewayCpu)) },
  ]
}
