/**
 * The overload run (`npm run chaos -- --overload [--seconds 60] [--factor 10] [--generators 2] [--pin]`): one nats-server and
 * one processor (a child process, HTTP gateway on a free port), started here and stopped by PID.
 * 1. Sustainable rate: after one append to each of the 1000 streams (so their actors are loaded),
 *    64 closed-loop writers for 10 s; their commits per second is the rate.
 * 2. Overload: `factor` × that rate, open loop (requests sent on a clock, not after answers), for
 *    `seconds`, from `generators` child processes (scripts/overloadGenerator.ts: raw publishes on
 *    one inbox, a 10 s timeout swept once every 100 ms, no retries); every second this process
 *    records the processor's RSS and V8 heap (its /metrics), `/ready`, and the micro stats.
 * 3. Recovery: 5 s of quiet, then 10 s of the closed-loop writers again.
 * It prints how the overload was answered (successes, `UNAVAILABLE` refusals and how fast they came,
 * timeouts), RSS over time, the CPU time the processor and the server spent per request in each
 * phase, and checks every acknowledged commit is stored once.
 *
 * `--pin` (Linux, `taskset` from util-linux): the nats-server and the processor run on CPU 0, this
 * process (the closed-loop writers of phases 1 and 3, the probes) and the generators on CPU 1, in
 * every phase: the sustainable rate and the overload are measured in the same configuration, and
 * the generators do not take CPU from the processor they load (on a 2-core machine they otherwise
 * do, and offer less than the factor asked for).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { createAllSourceClient, type AllSourceClient } from '../src/adapters/nats/service/client.js'
import { localNatsServerPath } from '../src/main/natsServer/findNatsServer.js'
import { freePort, launchNatsServer, type RunningNatsServer } from '../src/main/natsServer/launchNatsServer.js'
import { cleanUp } from '../test/support/cleanUp.js'
import { readWholeLog } from '../test/support/eventLogReader.js'
import { spawnProcessor, type ProcessorProcess } from '../test/support/processor.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const sub = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : a - b)
const rssMb = (pid: number | undefined): number | undefined => {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024)
  } catch {
    return undefined
  }
}
/** CPU time (user + system, ms) a process has used so far, from /proc (undefined once it is gone). */
const cpuMs = (pid: number | undefined): number | undefined => {
  try {
    // Fields after the command's closing parenthesis: state is the 3rd field, utime the 14th, stime the 15th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return ((Number(fields[11]) + Number(fields[12])) * 1_000) / 100 // USER_HZ is 100 on Linux
  } catch {
    return undefined
  }
}
/** Pins every thread of `pid` to `cpu` (`taskset -a -p -c`). */
const pin = (pid: number | undefined, cpu: number): void => {
  if (pid !== undefined) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' })
}
/** µs of CPU per operation, for the table. */
const perOp = (ms: number | undefined, ops: number): number | undefined => (ms === undefined || ops <= 0 ? undefined : Math.round((ms * 1_000) / ops))
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number)
}

interface Outcome {
  readonly commitId: string
  readonly ms: number
  readonly kind: 'ok' | 'refused' | 'timeout' | 'other'
  readonly code?: string
  readonly message?: string
}

const TENANT = 'overload'
const STREAMS = 1_000

/** One append without retries: ok, refused (UNAVAILABLE answered by the service), timeout (no answer in time), other. */
const once = async (client: AllSourceClient, commitId: string, i: number): Promise<Outcome> => {
  const t = performance.now()
  const r = await client.tryAppend(TENANT, `s${i % STREAMS}`, [{ type: 'overload.tick', payload: { i } }], { commitId })
  const ms = performance.now() - t
  if (E.isRight(r)) return { commitId, ms, kind: 'ok' }
  const timedOut = r.left.code === 'UNAVAILABLE' && /timed out|timeout/i.test(r.left.message) && r.left.details.retryAfterMs === undefined
  return { commitId, ms, kind: r.left.code === 'UNAVAILABLE' ? (timedOut ? 'timeout' : 'refused') : 'other', code: r.left.code, message: r.left.message }
}

const closedLoop = async (client: AllSourceClient, seconds: number, tag: string): Promise<Outcome[]> => {
  const out: Outcome[] = []
  const end = Date.now() + seconds * 1_000
  let n = 0
  await Promise.all(
    [...Array(64).keys()].map(async () => {
      while (Date.now() < end) {
        const i = n++
        out.push(await once(client, `${tag}-${i}`, i))
      }
    }),
  )
  return out
}

const summary = (os: readonly Outcome[]) => {
  const of = (k: Outcome['kind']) => os.filter((o) => o.kind === k)
  const ms = (xs: readonly Outcome[]) => ({ p50: Math.round(quantile(xs.map((o) => o.ms), 0.5)), p99: Math.round(quantile(xs.map((o) => o.ms), 0.99)), max: Math.round(Math.max(0, ...xs.map((o) => o.ms))) })
  return {
    requests: os.length,
    ok: of('ok').length,
    okMs: ms(of('ok')),
    refused: of('refused').length,
    refusedMs: ms(of('refused')),
    refusedExample: of('refused')[0]?.message,
    timeouts: of('timeout').length,
    other: of('other').length,
    otherExample: of('other')[0] === undefined ? undefined : `${of('other')[0]?.code}: ${of('other')[0]?.message}`,
  }
}

/** What one generator child printed (scripts/overloadGenerator.ts). */
interface GeneratorResult {
  readonly sent: number
  /** CPU time the generator process used, ms. */
  readonly cpuMs: number
  readonly offeredPerSecond: number
  readonly maxBehindRequests: number
  readonly ok: number
  readonly okMs: { p50: number; p99: number; max: number }
  readonly refused: number
  readonly refusedMs: { p50: number; p99: number; max: number }
  readonly refusedExample?: string
  readonly timeouts: number
  readonly noResponders: number
  readonly other: number
  readonly otherExample?: string
}

const generatorScript = fileURLToPath(new URL('./overloadGenerator.ts', import.meta.url))

/** Runs one generator child to its end; resolves with its result line. */
const runGenerator = (config: Record<string, unknown>): Promise<GeneratorResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', generatorScript, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? ''
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as GeneratorResult)
      else reject(new Error(`load generator exited ${code}: ${err.slice(-2_000)}`))
    })
  })

/** The processor's V8 heap in use (MB, from its /metrics), or undefined. */
const heapMb = async (httpPort: number): Promise<number | undefined> => {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(2_000) })).text()
    const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '))
    return line === undefined ? undefined : Math.round(Number(line.split(' ')[1]) / 1024 / 1024)
  } catch {
    return undefined
  }
}

export const runOverload = async (o: { readonly seconds: number; readonly factor: number; readonly generators?: number; readonly pin?: boolean }): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-overload-'))
  let server: RunningNatsServer | undefined
  let processor: ProcessorProcess | undefined
  let nc: NatsConnection | undefined
  try {
    // The embedded server's settings (nats.conf: max_pending 256MB, write_deadline 10s, the append mapping), as `npm start` runs it.
    server = await launchNatsServer({ binary: localNatsServerPath(), port: 0, storeDir: join(dir, 'store'), configFile: fileURLToPath(new URL('../nats.conf', import.meta.url)) })
    const httpPort = await freePort()
    processor = spawnProcessor({
      NATS_URL: server.url,
      ALLSOURCE_AUTH: 'off',
      ALLSOURCE_INGEST: '0',
      ALLSOURCE_ID_INDEX: '0',
      ALLSOURCE_EXAMPLE_MODULES: '0',
      ALLSOURCE_HTTP_PORT: String(httpPort),
      ALLSOURCE_DATA_DIR: join(dir, 'processor'),
    })
    await processor.ready(120_000)
    const pid = processor.proc.pid
    if (o.pin === true) {
      // This process first: the generators it spawns later inherit CPU 1.
      pin(process.pid, 1)
      pin(server.pid, 0)
      pin(pid, 0)
      console.log(`pinned: nats-server (pid ${server.pid}) and the processor (pid ${pid}) to CPU 0; this process (pid ${process.pid}) and the generators to CPU 1`)
    }
    const serverPid = server.pid
    /** CPU time (ms) of the processor and the server so far. */
    const cpu = () => ({ processor: cpuMs(pid), server: cpuMs(serverPid) })
    nc = await connect({ servers: server.url })
    const client = createAllSourceClient(nc)
    const ready = async (): Promise<string> => {
      try {
        const r = await fetch(`http://127.0.0.1:${httpPort}/ready`, { signal: AbortSignal.timeout(2_000) })
        const body = (await r.json()) as { detail?: string }
        return r.status === 200 ? '200' : `${r.status} ${body.detail ?? ''}`
      } catch (e) {
        return `no answer (${e instanceof Error ? e.message : String(e)})`
      }
    }
    /** The append endpoint's request count (micro stats), or undefined when the processor does not answer in time. */
    const appendRequests = async (): Promise<number | undefined> => {
      try {
        const m = await nc?.request('$SRV.STATS.allsource', '', { timeout: 5_000 })
        return m?.json<{ endpoints?: { name: string; num_requests: number }[] }>().endpoints?.find((e) => e.name === 'append')?.num_requests
      } catch {
        return undefined
      }
    }
    const microErrors = async (): Promise<string> => {
      try {
        const m = await nc?.request('$SRV.STATS.allsource', '', { timeout: 2_000 })
        const s = m?.json<{ endpoints?: { name: string; num_requests: number; num_errors: number; last_error?: string }[] }>()
        const append = s?.endpoints?.find((e) => e.name === 'append')
        return append === undefined ? 'no append endpoint' : `${append.num_requests} requests, ${append.num_errors} errors, last "${append.last_error ?? ''}"`
      } catch (e) {
        return `no answer (${e instanceof Error ? e.message : String(e)})`
      }
    }

    console.log(`processor pid ${pid}, RSS ${rssMb(pid)} MB, load average ${loadavg()[0]?.toFixed(1)}; warming up (one append to each of the ${STREAMS} streams), then measuring the sustainable rate (64 closed-loop writers, 10 s)`)
    const warm: Outcome[] = []
    for (let i = 0; i < STREAMS; i += 100) warm.push(...(await Promise.all([...Array(100).keys()].map((k) => once(client, `warm-${i + k}`, i + k)))))
    const cpuBase = cpu()
    const base = [...warm.filter((x) => x.kind === 'ok'), ...(await closedLoop(client, 10, 'base'))]
    const cpuBaseEnd = cpu()
    const sustainable = (base.filter((x) => x.kind === 'ok').length - STREAMS) / 10
    const target = Math.round(sustainable * o.factor)
    const baseCommits = base.length - STREAMS
    console.log(
      `sustainable: ${sustainable.toFixed(0)} commits/s ${JSON.stringify(summary(base))}; CPU per commit: processor ${perOp(sub(cpuBaseEnd.processor, cpuBase.processor), baseCommits)} µs, nats-server ${perOp(sub(cpuBaseEnd.server, cpuBase.server), baseCommits)} µs; load average ${loadavg()[0]?.toFixed(1)}`,
    )

    const generators = Math.max(1, Math.round(o.generators ?? 2))
    console.log(`overload: ${target} requests/s (${o.factor}x) for ${o.seconds} s, open loop, no retries, from ${generators} generator processes`)
    const samples: { s: number; rssMb?: number; heapMb?: number; ready: string; micro: string }[] = []
    const started = Date.now()
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        await sleep(1_000)
        const at = Math.round((Date.now() - started) / 1_000)
        const rss = rssMb(pid)
        // The probes at once (each may wait 2 s for a saturated processor), so a sample stays about a second.
        const [heap, readiness, micro] = await Promise.all([heapMb(httpPort), ready(), microErrors()])
        samples.push({ s: at, ...(rss !== undefined ? { rssMb: rss } : {}), ...(heap !== undefined ? { heapMb: heap } : {}), ready: readiness, micro })
        const last = samples.at(-1)
        if (last !== undefined && last.s % 5 === 0) console.log(JSON.stringify(last))
      }
    })()
    const heapBefore = await heapMb(httpPort)
    const requestsBefore = await appendRequests()
    const cpuOver = cpu()
    const results = await Promise.all(
      [...Array(generators).keys()].map((g) =>
        runGenerator({ url: server?.url, rate: target / generators, seconds: o.seconds, tenant: TENANT, streams: STREAMS, tag: `g${g}`, offset: g, timeoutMs: 10_000, out: join(dir, `g${g}`) }),
      ),
    )
    const cpuOverEnd = cpu()
    for (const [g, r] of results.entries()) console.log(`generator ${g}: ${JSON.stringify(r)}`)
    const total = (f: (r: GeneratorResult) => number) => results.reduce((acc, r) => acc + f(r), 0)
    const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')
    const overOk = results.flatMap((_, g) => lines(join(dir, `g${g}.ok`)))
    const overRefused = results.flatMap((_, g) => lines(join(dir, `g${g}.refused`)))
    console.log(
      `offered ${total((r) => r.offeredPerSecond)} requests/s (target ${target}); sent ${total((r) => r.sent)}: ${total((r) => r.ok)} OK, ${total((r) => r.refused)} refused UNAVAILABLE, ${total((r) => r.timeouts)} timeouts, ${total((r) => r.noResponders)} no responders, ${total((r) => r.other)} other (latencies per generator above)`,
    )
    await sleep(5_000)
    sampling = false
    await sampler
    // Every request the processor read in the overload phase (served or refused), from its micro stats.
    const requestsAfter = await appendRequests()
    const handled = requestsBefore === undefined || requestsAfter === undefined ? 0 : requestsAfter - requestsBefore
    console.log(
      `overload phase: the processor read ${handled} append requests (micro stats); CPU per request: processor ${perOp(sub(cpuOverEnd.processor, cpuOver.processor), handled)} µs, nats-server ${perOp(sub(cpuOverEnd.server, cpuOver.server), handled)} µs; CPU used during the ${o.seconds} s: processor ${Math.round(sub(cpuOverEnd.processor, cpuOver.processor) ?? 0)} ms, nats-server ${Math.round(sub(cpuOverEnd.server, cpuOver.server) ?? 0)} ms, generators ${results.map((r) => r.cpuMs).join(' + ')} ms; load average ${loadavg()[0]?.toFixed(1)}`,
    )
    const over: Outcome[] = [...overOk.map((commitId) => ({ commitId, ms: 0, kind: 'ok' as const })), ...overRefused.map((commitId) => ({ commitId, ms: 0, kind: 'refused' as const }))]
    const afterRss = rssMb(pid)
    const after = await closedLoop(client, 10, 'after')
    console.log(`recovery (64 closed-loop writers, 10 s, after 5 s of quiet): ${JSON.stringify(summary(after))}; /ready ${await ready()}; RSS ${afterRss} MB; V8 heap used ${heapBefore} MB before the overload, ${await heapMb(httpPort)} MB after the recovery`)

    const log = await readWholeLog(nc)
    const stored = new Map<string, number>()
    for (const c of log) stored.set(c.msgId, (stored.get(c.msgId) ?? 0) + 1)
    const acked = [...base, ...over, ...after].filter((x) => x.kind === 'ok')
    const lost = acked.filter((a) => stored.get(a.commitId) === undefined).length
    const dup = [...stored.values()].filter((n) => n > 1).length
    const refusedStored = over.filter((x) => x.kind === 'refused' && stored.has(x.commitId)).length
    const rss = samples.map((s) => s.rssMb).filter((v): v is number => v !== undefined)
    console.log(JSON.stringify({ lost, duplicated: dup, refusedButStored: refusedStored, rssMb: { min: Math.min(...rss), max: Math.max(...rss), afterRecovery: afterRss }, notReadySamples: samples.filter((s) => s.ready !== '200').length, samples: samples.length }))
    console.log('RSS per second (MB):', rss.join(' '))
    console.log('V8 heap used per second (MB):', samples.map((x) => x.heapMb ?? '?').join(' '))
    // What the processor said about its connection meanwhile (a slow consumer cut off by the server, reconnects).
    const connectionLines = processor.output().split('\n').filter((l) => /slow consumer|disconnect|reconnect|stale connection/i.test(l))
    console.log(`processor connection events: ${connectionLines.length}${connectionLines.length > 0 ? `, first: ${connectionLines.slice(0, 3).join(' | ').slice(0, 600)}` : ''}`)
    // Its warnings (failures answered 5xx are logged at most once a second per endpoint), by their first words.
    const warnings = processor.output().split('\n').filter((l) => /"level":"(warn|error)"/.test(l))
    const kinds = new Map<string, number>()
    for (const l of warnings) {
      const msg = /"msg":"([^"]{0,90})/.exec(l)?.[1] ?? l.slice(0, 90)
      const kind = msg.replace(/[0-9]+/g, 'N')
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
    }
    console.log(`processor warnings: ${warnings.length}${[...kinds].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `\n  ${n} × ${k}`).join('')}`)
    // What the server said about its clients (why it cut one: slow consumer, write deadline); its last 16 KB of output.
    const serverLines = server.output().split('\n').filter((l) => /slow consumer|deadline|closed|stale/i.test(l))
    console.log(`nats-server client events: ${serverLines.length}${serverLines.length > 0 ? `, e.g.: ${serverLines.slice(0, 4).join(' | ').slice(0, 800)}` : ''}`)
    return lost === 0 && dup === 0 && refusedStored === 0 ? 0 : 1
  } finally {
    await cleanUp(
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
