import { execFile } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { decodeMsgpack, encodeMsgpack } from '../../src/adapters/codec/msgpack.js'
import { PipelinedPublisher } from '../../src/adapters/nats/log/pipelinedPublisher.js'
import { WireHeaders } from '../../src/adapters/nats/log/wireHeaders.js'
import { createAllSource } from '../../src/main/allSource.js'
import * as E from 'fp-ts/lib/Either.js'
import { createJetStreamEventLog } from '../../src/adapters/nats/log/jetStreamEventLog.js'
import { startStreamService } from '../../src/adapters/nats/service/streamService.js'
import { systemClock, uuidv7Ids } from '../../src/adapters/system/systemClock.js'
import type { Appender } from '../../src/application/streams/appender.js'
import { appendResultOf } from '../../src/application/streams/appendResult.js'
import { unavailable } from '../../src/application/streams/errors.js'
import { emptyHead, type StreamHead } from '../../src/application/streams/ports.js'
import { prepareCommit } from '../../src/application/streams/prepareCommit.js'
import { type BenchServer, createEventStream, procCpuMicros, sampleCommitBytes } from './common.js'

const clientScript = resolve(dirname(fileURLToPath(import.meta.url)), '../serviceClient.ts')

export interface ServiceResult {
  readonly eventsPerSecond: number
  /** CPU microseconds per append in each process. */
  readonly clientCpu: number
  readonly serverCpu: number
  readonly processorCpu: number
}

/**
 * Runs the client process against whatever serves `allsource.append.*.*` on `b`, measuring CPU.
 * With `apiKey` (a key of tenant `bench`), the client connects as that key in auth mode: the key
 * as the connect token and the inbox prefix its grant allows. The key goes by environment, not argv.
 */
export const drive = async (b: Pick<BenchServer, 'server'>, events: number, streams: number, apiKey?: string, writersPerStream = 1, env: Record<string, string> = {}): Promise<ServiceResult> => {
  const server0 = procCpuMicros(b.server.pid)
  const self0 = process.cpuUsage()
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', clientScript, b.server.url, String(events), String(streams), String(writersPerStream)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, ...env, ...(apiKey !== undefined ? { ALLSOURCE_BENCH_KEY: apiKey } : {}) },
  })
  const self = process.cpuUsage(self0)
  const serverCpu = procCpuMicros(b.server.pid) - server0
  const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { count: number; ms: number; cpuMicros: number }
  return {
    eventsPerSecond: r.count / (r.ms / 1000),
    clientCpu: r.cpuMicros / r.count,
    serverCpu: serverCpu / r.count,
    processorCpu: (self.user + self.system) / r.count,
  }
}

/** AllSource's append service in this process; the client in another. */
export const service = async (b: BenchServer, events: number, streams: number): Promise<ServiceResult> => {
  const app = await createAllSource({ nc: b.nc })
  await app.serve()
  const r = await drive(b, events, streams)
  await app.close()
  return r
}

/**
 * The ceiling of any request-reply service on this box: take the same request, decode it,
 * publish a commit's bytes with the expected-sequence header on the pipelined path, reply.
 */
export const forwarder = async (b: BenchServer, events: number, streams: number): Promise<ServiceResult> => {
  await createEventStream(b.nc)
  const bytes = sampleCommitBytes()
  const pub = new PipelinedPublisher(b.nc, 30_000)
  const last = new Map<string, number>()
  let n = 0
  const sub = b.nc.subscribe('allsource.append.*.*', {
    queue: 'allsource',
    callback: (_e, msg) => {
      decodeMsgpack(msg.data)
      const stream = msg.subject.slice('allsource.append.'.length)
      const h = WireHeaders.of(['Nats-Msg-Id', `fwd-${++n}`], ['Nats-Expected-Last-Subject-Sequence', String(last.get(stream) ?? 0)])
      pub.publish(`allsource.events.${stream}`, bytes, h).then(
        (r) => {
          if (r._tag === 'Stored') last.set(stream, r.seq)
          msg.respond(encodeMsgpack(r._tag === 'Stored' ? { offset: r.seq } : { error: { code: 'UNAVAILABLE', message: r._tag } }))
        },
        (e: unknown) => msg.respond(encodeMsgpack({ error: { code: 'UNAVAILABLE', message: String(e) } })),
      )
    },
  })
  await b.nc.flush()
  const r = await drive(b, events, streams)
  sub.unsubscribe()
  pub.close()
  return r
}

/**
 * An ablation, not a design: the service exactly as scenario 3b runs it — the same endpoint,
 * request validation, commit preparation (ids, timestamps, versions), event log and reply —
 * with the stream actor and its supervisor replaced by a map of stream heads. It is correct only
 * for this workload (one append in flight per stream, no conflicts), and it shows what the
 * service path costs without the actor, so the actor's own price can be read off next to 3b.
 */
export const serviceWithoutActor = async (b: BenchServer, events: number, streams: number): Promise<ServiceResult> => {
  await createEventStream(b.nc)
  const log = createJetStreamEventLog(b.nc)
  const heads = new Map<string, StreamHead>()
  const deps = { clock: systemClock, ids: uuidv7Ids }
  const appender: Appender = {
    async append(command) {
      const key = `${command.tenant}.${command.stream}`
      const head = heads.get(key) ?? emptyHead
      const p = prepareCommit(deps, undefined, command, command.commitId ?? uuidv7Ids.commitId(), { head, state: undefined })
      if (E.isLeft(p)) return p
      const { commit } = p.right
      const o = await log.append(commit, head.lastOffset)
      if (o._tag !== 'Appended') return E.left(unavailable(`bench ablation: ${o._tag}`))
      heads.set(key, { version: commit.events[commit.events.length - 1]?.version ?? head.version, lastOffset: o.offset })
      return E.right(appendResultOf({ offset: o.offset, commit }, false))
    },
  }
  const notServed = async (): Promise<never> => {
    throw new Error('not served in this scenario')
  }
  const svc = await startStreamService(b.nc, appender, log, notServed)
  const r = await drive(b, events, streams)
  await svc.stop()
  log.close()
  return r
}
