import { execFile } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { headers } from '@nats-io/transport-node'
import { decodeMsgpack, encodeMsgpack } from '../../src/adapters/codec/msgpack.js'
import { PipelinedPublisher } from '../../src/adapters/nats/pipelinedPublisher.js'
import { createAllSource } from '../../src/main/allSource.js'
import { type BenchServer, createEventStream, procCpuMicros, sampleCommitBytes } from './common.js'

const clientScript = resolve(dirname(fileURLToPath(import.meta.url)), '../serviceClient.ts')

export interface ServiceResult {
  readonly eventsPerSecond: number
  /** CPU microseconds per append in each process. */
  readonly clientCpu: number
  readonly serverCpu: number
  readonly processorCpu: number
}

/** Runs the client process against whatever serves `allsource.append.*.*` on `b`, measuring CPU. */
const drive = async (b: BenchServer, events: number, streams: number): Promise<ServiceResult> => {
  const server0 = procCpuMicros(b.server.pid)
  const self0 = process.cpuUsage()
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', clientScript, b.server.url, String(events), String(streams)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
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
      const h = headers()
      h.set('Nats-Msg-Id', `fwd-${++n}`)
      h.set('Nats-Expected-Last-Subject-Sequence', String(last.get(stream) ?? 0))
      void pub.publish(`allsource.events.${stream}`, bytes, h).then((r) => {
        if (r._tag === 'Stored') last.set(stream, r.seq)
        msg.respond(encodeMsgpack(r._tag === 'Stored' ? { offset: r.seq } : { error: { code: 'UNAVAILABLE', message: r._tag } }))
      })
    },
  })
  await b.nc.flush()
  const r = await drive(b, events, streams)
  sub.unsubscribe()
  pub.close()
  return r
}
