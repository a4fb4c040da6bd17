import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { type AllSourceClient, createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { localNatsServerPath } from '../../../src/main/natsServer/findNatsServer.js'
import { cleanUp } from '../cleanUp.js'
import { readWholeLog } from '../eventLogReader.js'
import { type NatsTopology, startCluster } from '../natsTopologies.js'
import { type ProcessorProcess, spawnProcessor } from '../processor.js'
import { type AppendLoad, startAppendLoad } from './appendLoad.js'
import { type DurableReader, startDurableReader } from './durableReader.js'
import { clean, type Verdict, verify } from './logChecks.js'

export const FAULTS = ['kill-leader-node', 'kill-processor', 'restart-node', 'partition-node', 'storage-full'] as const
export type FaultName = (typeof FAULTS)[number]

export interface ChaosOptions {
  readonly faults: readonly FaultName[]
  /** Processors (child processes); `kill-processor` needs 2. Default 2. */
  readonly processors?: number
  readonly writers?: number
  readonly streamsPerWriter?: number
  /** Commits per second per writer (default 10). */
  readonly ratePerWriter?: number
  /** How long a fault lasts before it is healed (default 8 s). */
  readonly holdMs?: number
  /** Acknowledged commits before each fault (default 30). */
  readonly warmup?: number
  readonly log?: (line: string) => void
}

/** What one fault did, and what the checks after it found. */
export interface FaultResult {
  readonly fault: FaultName
  /** The node or processor it hit, and why that one. */
  readonly target: string
  /** From the fault until the first acknowledgement of an append sent after it (undefined: none within the wait). */
  readonly firstAppendAfterMs?: number
  /** The longest time without any acknowledgement, from the fault until the load stopped: the outage the writers saw. */
  readonly longestAckGapMs: number
  /** From the fault until `entity-state` had folded that append. */
  readonly projectionCaughtUpMs?: number
  /** From the fault until it was healed (node or processor back, routes restored, space freed). */
  readonly healedAfterMs: number
  readonly acknowledged: number
  /** Failure answers the writers saw (and retried with the same commitId), by code. */
  readonly failures: Readonly<Record<string, number>>
  /** One example message per failure code. */
  readonly failureExamples: readonly string[]
  /** Commits the durable subscriber got again after a lost ack (processed once: skipped by offset). */
  readonly redelivered: number
  readonly verdict: Verdict
  readonly clean: boolean
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const TENANT = 'chaos'
const PROJECTION = 'entity-state'

const until = async <T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> => {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await f().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`chaos: ${what} did not happen within ${timeoutMs} ms`)
    await sleep(everyMs)
  }
}

interface Env {
  readonly cluster: NatsTopology
  readonly processors: (ProcessorProcess | undefined)[]
  readonly nc: NatsConnection
  readonly client: AllSourceClient
  spawn(i: number): Promise<ProcessorProcess>
}

/** The node index leading `ALLSOURCE_EVENTS`. */
const leaderIndex = async (env: Env): Promise<number> => {
  const jsm = await jetstreamManager(env.nc, { checkAPI: false })
  return until('a leader of ALLSOURCE_EVENTS', async () => {
    const leader = (await jsm.streams.info('ALLSOURCE_EVENTS')).cluster?.leader
    const i = env.cluster.nodes.findIndex((_, k) => `n${k}` === leader)
    return i >= 0 ? i : undefined
  }, 60_000)
}

/** Waits until ALLSOURCE_EVENTS has a leader and both other replicas are current. */
const healthy = async (env: Env): Promise<void> => {
  const jsm = await jetstreamManager(env.nc, { checkAPI: false })
  await until('all ALLSOURCE_EVENTS replicas current', async () => {
    const c = (await jsm.streams.info('ALLSOURCE_EVENTS')).cluster
    return c?.leader !== undefined && (c.replicas ?? []).length === 2 && (c.replicas ?? []).every((r) => r.current && !r.offline) ? true : undefined
  }, 120_000, 500)
}

/** Injects a fault; resolves with its target, when it struck, and a function that heals it. */
const inject = async (fault: FaultName, env: Env): Promise<{ target: string; at: number; heal: () => Promise<void> }> => {
  const r = await injectOnly(fault, env)
  return { ...r, at: r.at ?? Date.now() }
}

const injectOnly = async (fault: FaultName, env: Env): Promise<{ target: string; at?: number; heal: () => Promise<void> }> => {
  switch (fault) {
    case 'kill-leader-node': {
      const i = await leaderIndex(env)
      const at = Date.now()
      env.cluster.nodes[i]?.kill('SIGKILL')
      return {
        at, target: `n${i} (ALLSOURCE_EVENTS leader), SIGKILL`, heal: async () => void (await env.cluster.restart?.(i)) }
    }
    case 'kill-processor': {
      const owner = (await env.client.projectionStatus(PROJECTION)).owner
      const i = Math.max(0, env.processors.findIndex((_, k) => `p${k}` === owner))
      const at = Date.now()
      env.processors[i]?.proc.kill('SIGKILL')
      await env.processors[i]?.exited()
      return { at, target: `p${i} (${owner === `p${i}` ? `holds the ${PROJECTION} lease` : 'first processor'}), SIGKILL`, heal: async () => void (await env.spawn(i)) }
    }
    case 'restart-node': {
      const i = await leaderIndex(env)
      const at = Date.now()
      await env.cluster.restart?.(i)
      return { at, target: `n${i} (ALLSOURCE_EVENTS leader), SIGTERM then start`, heal: async () => undefined }
    }
    case 'partition-node': {
      const i = await leaderIndex(env)
      const at = Date.now()
      const cut = new Set([`n${i}`])
      for (const p of env.cluster.proxies ?? []) p.isolate(cut)
      return { at, target: `n${i} (ALLSOURCE_EVENTS leader), routes cut`, heal: async () => env.cluster.proxies?.forEach((p) => p.heal()) }
    }
    case 'storage-full': {
      const jsm = await jetstreamManager(env.nc, { checkAPI: false })
      const info = await jsm.streams.info('ALLSOURCE_EVENTS')
      const limit = info.state.bytes + 16_384
      const at = Date.now()
      await jsm.streams.update('ALLSOURCE_EVENTS', { ...info.config, max_bytes: limit })
      return {
        at,
        target: `ALLSOURCE_EVENTS max_bytes ${limit} (16 KB above its size)`,
        heal: async () => {
          const now = await jsm.streams.info('ALLSOURCE_EVENTS')
          await jsm.streams.update('ALLSOURCE_EVENTS', { ...now.config, max_bytes: -1 })
        },
      }
    }
    default: {
      const never: never = fault
      throw new Error(`unknown fault ${String(never)}`)
    }
  }
}

/**
 * Runs each fault in turn on one 3-node R3 cluster (route proxies in front of every node), with
 * `processors` processors as child processes, a steady append load, the built-in projections and
 * a durable subscriber; after each fault it heals it, waits for the cluster to be whole, stops the
 * load and checks the whole log. Everything it starts is stopped, by PID, whatever happens.
 */
export const runChaos = async (o: ChaosOptions): Promise<FaultResult[]> => {
  const log = o.log ?? (() => undefined)
  const dir = mkdtempSync(join(tmpdir(), 'allsource-chaos-'))
  const procCount = o.processors ?? 2
  let cluster: NatsTopology | undefined
  let nc: NatsConnection | undefined
  let reader: DurableReader | undefined
  let load: AppendLoad | undefined
  const processors: (ProcessorProcess | undefined)[] = []
  try {
    cluster = await startCluster('chaos', localNatsServerPath(), 3, { routeProxies: true })
    const c = cluster
    const spawn = async (i: number): Promise<ProcessorProcess> => {
      // Each processor prefers another node first (it fails over to the rest).
      const urls = [...c.urls.slice(i % 3), ...c.urls.slice(0, i % 3)]
      const p = spawnProcessor({
        NATS_URL: urls.join(','),
        ALLSOURCE_AUTH: 'off',
        ALLSOURCE_REPLICAS: '3',
        ALLSOURCE_INGEST: '0',
        ALLSOURCE_ID_INDEX: '0',
        ALLSOURCE_EXAMPLE_MODULES: '0',
        ALLSOURCE_INSTANCE: `p${i}`,
        ALLSOURCE_DATA_DIR: join(dir, `p${i}`),
        ALLSOURCE_SHUTDOWN_TIMEOUT_MS: '3000',
      })
      processors[i] = p
      await p.ready(120_000)
      return p
    }
    log(`cluster up`)
    for (let i = 0; i < procCount; i++) await spawn(i)
    log(`cluster ${c.urls.join(' ')}; ${procCount} processor(s) ready`)
    // The test's client prefers the last node, the processors the first ones.
    nc = await connect({ servers: [...c.urls].reverse(), noRandomize: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 5_000, maxPingOut: 2 })
    const client = createAllSourceClient(nc, { timeoutMs: 5_000 })
    const env: Env = { cluster: c, processors, nc, client, spawn }
    reader = await startDurableReader(nc, TENANT, 'chaos-reader')
    const results: FaultResult[] = []
    for (const [n, fault] of o.faults.entries()) {
      load = startAppendLoad({ client, tenant: TENANT, writers: o.writers ?? 6, streamsPerWriter: o.streamsPerWriter ?? 8, prefix: `f${n}`, ratePerWriter: o.ratePerWriter ?? 10 })
      const l = load
      await until('the warm-up appends', async () => (l.acked.length >= (o.warmup ?? 30) ? true : undefined), 120_000, 100)
      const { target, heal, at: t0 } = await inject(fault, env)
      log(`${fault}: ${target}`)
      const checkpoints: { at: number; checkpoint: number }[] = []
      let polling = true
      const poller = (async () => {
        while (polling) {
          const s = await client.projectionStatus(PROJECTION).catch(() => undefined)
          if (s !== undefined) checkpoints.push({ at: Date.now(), checkpoint: s.checkpoint })
          await sleep(250)
        }
      })()
      await sleep(o.holdMs ?? 8_000)
      await heal()
      const healedAt = Date.now()
      log(`${fault}: healed after ${healedAt - t0} ms`)
      const first = await until('an append acknowledged after the fault', async () => l.acked.find((a) => a.startedAt >= t0), 180_000, 100).catch(() => undefined)
      const caughtUp =
        first === undefined ? undefined : await until('the projection past the fault', async () => checkpoints.find((p) => p.checkpoint >= first.offset), 180_000, 250).catch(() => undefined)
      polling = false
      await poller
      log(`${fault}: recovered; waiting for all replicas to be current`)
      await healthy(env)
      for (const [i, p] of processors.entries()) if (p === undefined || p.proc.exitCode !== null || p.proc.signalCode !== null) await spawn(i)
      await l.stop()
      load = undefined
      log(`${fault}: load stopped; checking the log`)
      const verdict = await verify({ log: await readWholeLog(nc), load: l, tenant: TENANT, client, reader })
      const failures: Record<string, number> = {}
      const examples = new Map<string, string>()
      for (const f of l.failures.filter((x) => x.at >= t0)) {
        failures[f.code] = (failures[f.code] ?? 0) + 1
        if (!examples.has(f.code)) examples.set(f.code, `${f.code}: ${f.message}`)
      }
      const ackTimes = [t0, ...l.acked.map((a) => a.ackedAt).filter((t) => t >= t0).sort((a, b) => a - b)]
      const longestAckGapMs = Math.max(0, ...ackTimes.slice(1).map((t, k) => t - (ackTimes[k] as number)))
      const result: FaultResult = {
        longestAckGapMs,
        fault,
        target,
        ...(first !== undefined ? { firstAppendAfterMs: first.ackedAt - t0 } : {}),
        ...(caughtUp !== undefined ? { projectionCaughtUpMs: caughtUp.at - t0 } : {}),
        healedAfterMs: healedAt - t0,
        acknowledged: l.acked.length,
        failures,
        failureExamples: [...examples.values()],
        redelivered: reader.redelivered,
        verdict,
        clean: clean(verdict) && first !== undefined,
      }
      log(`${fault}: ${JSON.stringify({ ...result, verdict: clean(verdict) ? 'clean' : verdict })}`)
      results.push(result)
    }
    return results
  } finally {
    const procs = [...processors]
    await cleanUp(
      async () => void (await load?.stop()),
      async () => void (await reader?.stop()),
      async () => void (await nc?.close()),
      ...procs.map((p) => async () => {
        if (p !== undefined && p.proc.exitCode === null && p.proc.signalCode === null) {
          p.proc.kill('SIGTERM')
          await Promise.race([p.exited(), sleep(5_000).then(() => p.proc.kill('SIGKILL'))])
          await p.exited()
        }
      }),
      async () => void (await cluster?.stop()),
      () => rmSync(dir, { recursive: true, force: true }),
    )
  }
}

/** The results as a Markdown table (for `npm run chaos` and docs/reliability.md). */
export const summaryTable = (results: readonly FaultResult[]): string => {
  const ms = (v: number | undefined) => (v === undefined ? 'never' : `${(v / 1000).toFixed(1)} s`)
  const rows = results.map((r) =>
    [
      r.fault,
      r.target,
      ms(r.healedAfterMs),
      ms(r.firstAppendAfterMs),
      ms(r.longestAckGapMs),
      ms(r.projectionCaughtUpMs),
      String(r.acknowledged),
      Object.entries(r.failures).map(([k, v]) => `${k} ${v}`).join(', ') || '0',
      `${r.verdict.lost.length} / ${r.verdict.duplicated.length} / ${r.verdict.gaps.length} / ${r.verdict.wrongAnswers.length}`,
      r.verdict.projectionMismatches.length === 0 ? 'yes' : `no (${r.verdict.projectionMismatches.length})`,
      r.verdict.subscriberMismatches.length === 0 ? `yes (${r.redelivered} redelivered)` : `no (${r.verdict.subscriberMismatches.length})`,
      r.clean ? 'PASS' : 'FAIL',
    ].join(' | '),
  )
  return [
    '| fault | target | healed after | first append after | longest time without an ack | projection caught up after | acked | failure answers (retried) | lost / dup / gaps / wrong | projections = fold | subscriber once, in order | result |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n')
}
