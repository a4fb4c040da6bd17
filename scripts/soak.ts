/**
 * `npm run soak -- --minutes 30 [--rate 20] [--sample 10] [--out docs]`: a steady append load on
 * one nats-server (started here, on a free port, in a temp dir) and one processor (a child
 * process), with the built-in projections folding and a durable subscriber reading. Every
 * `--sample` seconds it records the processor's and nats-server's RSS, the projection's and the
 * subscriber's lag and the append latency (p50, p99) of the window; at the end it stops the load,
 * checks the whole log (nothing lost, duplicated or out of order, projections = the pure fold, the
 * subscriber saw every commit once in order) and writes `<out>/soak.svg`, `soak.csv`, `soak.json`.
 * Everything it starts it stops, by PID, also on Ctrl-C.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { createAllSourceClient } from '../src/adapters/nats/service/client.js'
import { localNatsServerPath } from '../src/main/natsServer/findNatsServer.js'
import { launchNatsServer, type RunningNatsServer } from '../src/main/natsServer/launchNatsServer.js'
import { startAppendLoad, type AppendLoad } from '../test/support/chaos/appendLoad.js'
import { startDurableReader, type DurableReader } from '../test/support/chaos/durableReader.js'
import { clean, verify } from '../test/support/chaos/logChecks.js'
import { renderSvg } from '../test/support/chaos/svgPlot.js'
import { cleanUp } from '../test/support/cleanUp.js'
import { readWholeLog } from '../test/support/eventLogReader.js'
import { root, spawnProcessor, type ProcessorProcess } from '../test/support/processor.js'

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  const v = i < 0 ? undefined : Number(process.argv[i + 1])
  if (v === undefined) return fallback
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`)
  return v
}
const outArg = (): string => {
  const i = process.argv.indexOf('--out')
  return resolve(root, i < 0 ? 'docs' : (process.argv[i + 1] ?? 'docs'))
}

const minutes = arg('minutes', 30)
const rate = arg('rate', 20)
const sampleS = arg('sample', 10)
const out = outArg()
const WRITERS = 4
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
/** Resident set size of a process, in MB (Linux `/proc`). */
const rssMb = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? undefined : Number(kb) / 1024
  } catch {
    return undefined
  }
}
const quantile = (xs: number[], q: number): number | undefined => {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

interface Sample {
  readonly minute: number
  readonly processorRssMb?: number
  readonly natsRssMb?: number
  readonly projectionLag?: number
  readonly subscriberLag: number
  readonly commits: number
  readonly p50Ms?: number
  readonly p99Ms?: number
  readonly failures: number
  readonly loadAverage: number
}

const main = async (): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-soak-'))
  let server: RunningNatsServer | undefined
  let processor: ProcessorProcess | undefined
  let nc: NatsConnection | undefined
  let load: AppendLoad | undefined
  let reader: DurableReader | undefined
  let interrupted = false
  process.once('SIGINT', () => (interrupted = true))
  process.once('SIGTERM', () => (interrupted = true))
  try {
    server = await launchNatsServer({ binary: localNatsServerPath(), port: 0, storeDir: join(dir, 'store') })
    processor = spawnProcessor({ NATS_URL: server.url, ALLSOURCE_AUTH: 'off', ALLSOURCE_INGEST: '0', ALLSOURCE_ID_INDEX: '0', ALLSOURCE_EXAMPLE_MODULES: '0', ALLSOURCE_DATA_DIR: join(dir, 'processor') })
    await processor.ready(120_000)
    nc = await connect({ servers: server.url })
    const client = createAllSourceClient(nc)
    reader = await startDurableReader(nc, 'chaos', 'soak-reader')
    load = startAppendLoad({ client, tenant: 'chaos', writers: WRITERS, streamsPerWriter: 25, prefix: 'soak', ratePerWriter: rate / WRITERS })
    const l = load
    const started = Date.now()
    const samples: Sample[] = []
    let seenAcks = 0
    let seenFailures = 0
    console.log(`soak: ${minutes} min at ${rate} commits/s (${WRITERS} writers, 100 streams), sampling every ${sampleS} s; nats-server pid ${server.pid}, processor pid ${processor.proc.pid}`)
    while (!interrupted && Date.now() - started < minutes * 60_000) {
      await sleep(sampleS * 1_000)
      const window = l.acked.slice(seenAcks)
      seenAcks += window.length
      const failures = l.failures.length - seenFailures
      seenFailures += failures
      const latencies = window.map((a) => a.ackedAt - a.startedAt)
      const status = await client.projectionStatus('entity-state').catch(() => undefined)
      const lastAcked = Math.max(0, ...window.map((a) => a.offset))
      const s: Sample = {
        minute: (Date.now() - started) / 60_000,
        ...(rssMb(processor.proc.pid) !== undefined ? { processorRssMb: rssMb(processor.proc.pid) } : {}),
        ...(rssMb(server.pid) !== undefined ? { natsRssMb: rssMb(server.pid) } : {}),
        ...(status !== undefined ? { projectionLag: status.lag } : {}),
        subscriberLag: Math.max(0, lastAcked - reader.last()),
        commits: window.length,
        ...(quantile(latencies, 0.5) !== undefined ? { p50Ms: quantile(latencies, 0.5) } : {}),
        ...(quantile(latencies, 0.99) !== undefined ? { p99Ms: quantile(latencies, 0.99) } : {}),
        failures,
        loadAverage: loadavg()[0] ?? 0,
      }
      samples.push(s)
      console.log(JSON.stringify(s))
    }
    await l.stop()
    load = undefined
    const verdict = await verify({ log: await readWholeLog(nc), load: l, tenant: 'chaos', client, reader })
    const all = l.acked.map((a) => a.ackedAt - a.startedAt)
    const rss = samples.map((s) => s.processorRssMb).filter((v): v is number => v !== undefined)
    const summary = {
      command: `npm run soak -- --minutes ${minutes} --rate ${rate} --sample ${sampleS}`,
      startedAt: new Date(started).toISOString(),
      minutes: (Date.now() - started) / 60_000,
      ratePerSecond: rate,
      writers: WRITERS,
      streams: l.streams.length,
      machine: { cpus: cpus().length, loadAverageMean: samples.reduce((a, s) => a + s.loadAverage, 0) / Math.max(1, samples.length) },
      acknowledged: l.acked.length,
      events: l.acked.reduce((a, c) => a + c.toVersion - c.fromVersion + 1, 0),
      failureAnswers: l.failures.length,
      latencyMs: { p50: quantile(all, 0.5), p99: quantile(all, 0.99), max: Math.max(0, ...all) },
      processorRssMb: { first: rss[0], last: rss.at(-1), min: Math.min(...rss), max: Math.max(...rss) },
      subscriberRedelivered: reader.redelivered,
      clean: clean(verdict),
      verdict,
      samples,
    }
    const header = 'minute,processor_rss_mb,nats_rss_mb,projection_lag_commits,subscriber_lag_commits,commits,p50_ms,p99_ms,failures,load_average'
    const csv = samples.map((s) => [s.minute.toFixed(2), s.processorRssMb?.toFixed(1), s.natsRssMb?.toFixed(1), s.projectionLag, s.subscriberLag, s.commits, s.p50Ms, s.p99Ms, s.failures, s.loadAverage.toFixed(2)].map((v) => v ?? '').join(','))
    writeFileSync(join(out, 'soak.csv'), `${[header, ...csv].join('\n')}\n`)
    writeFileSync(join(out, 'soak.json'), `${JSON.stringify(summary, null, 2)}\n`)
    const xs = samples.map((s) => s.minute)
    writeFileSync(
      join(out, 'soak.svg'),
      renderSvg(
        `AllSource soak: ${summary.minutes.toFixed(0)} min at ${rate} commits/s, ${l.streams.length} streams, entity-state + event-counter + a durable subscriber`,
        `${summary.startedAt.slice(0, 16)} UTC, ${cpus().length} cores shared with other work (mean load ${summary.machine.loadAverageMean.toFixed(1)}); ${summary.acknowledged} commits, checks ${summary.clean ? 'clean' : 'FAILED'}; ${summary.command}`,
        'minutes',
        xs,
        [
          { title: 'Resident memory', unit: 'MB', series: [{ label: 'processor', colour: '#1f77b4', values: samples.map((s) => s.processorRssMb) }, { label: 'nats-server', colour: '#999', values: samples.map((s) => s.natsRssMb) }] },
          { title: 'Lag at the sample', unit: 'commits', series: [{ label: 'entity-state', colour: '#2ca02c', values: samples.map((s) => s.projectionLag) }, { label: 'subscriber', colour: '#9467bd', values: samples.map((s) => s.subscriberLag) }] },
          { title: 'Append latency per window', unit: 'ms', series: [{ label: 'p99', colour: '#d62728', values: samples.map((s) => s.p99Ms) }, { label: 'p50', colour: '#ff7f0e', values: samples.map((s) => s.p50Ms) }] },
        ],
      ),
    )
    console.log(JSON.stringify({ ...summary, samples: undefined, verdict: summary.clean ? 'clean' : verdict }, null, 2))
    console.log(`wrote ${join(out, 'soak.svg')}, soak.csv, soak.json`)
    return summary.clean ? 0 : 1
  } finally {
    await cleanUp(
      async () => void (await load?.stop()),
      async () => void (await reader?.stop()),
      async () => void (await nc?.close()),
      async () => {
        const p = processor
        if (p !== undefined && p.proc.exitCode === null && p.proc.signalCode === null) {
          p.proc.kill('SIGTERM')
          await Promise.race([p.exited(), sleep(15_000).then(() => p.proc.kill('SIGKILL'))])
        }
      },
      async () => void (await server?.stop()),
      () => rmSync(dir, { recursive: true, force: true }),
    )
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  },
)
