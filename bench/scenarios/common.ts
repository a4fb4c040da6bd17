import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { encodeCommit } from '../../src/adapters/codec/commitCodec.js'
import { ensureEventStream } from '../../src/adapters/nats/log/eventStream.js'
import { launchNatsServer, type RunningNatsServer } from '../../src/main/natsServer/launchNatsServer.js'
import type { Commit } from '../../src/domain/streams/event.js'
import type { CommitId, EventId, EventType, StreamId, TenantId, Version } from '../../src/domain/streams/ids.js'

export interface BenchServer {
  readonly server: RunningNatsServer
  readonly nc: NatsConnection
  stop(): Promise<void>
}

/** A fresh nats-server with its own temp store, and a connection to it; `stop()` removes both. */
export const freshServer = async (syncAlways = false): Promise<BenchServer> => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-bench-'))
  const server = await launchNatsServer({ storeDir: dir, port: 0, syncAlways })
  // As the processor connects (`longLivedConnection`): no stack capture per request.
  const nc = await connect({ servers: server.url, noAsyncTraces: true })
  return {
    server,
    nc,
    stop: async () => {
      await nc.close()
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The same stream AllSource creates, for the raw scenarios. */
export const createEventStream = async (nc: NatsConnection): Promise<void> => {
  await ensureEventStream(nc, await jetstreamManager(nc), undefined, () => undefined)
}

/** The event payload of every scenario: a commit of one such event is about 200 bytes. */
export const payload = (i: number, s: number) => ({ i, s, text: 'hello world, this is an event' })

/** The bytes of a real one-event commit, for the raw scenarios to publish. */
export const sampleCommitBytes = (): Uint8Array => {
  const commit: Commit = {
    commitId: '0193b0c4-8c1a-7000-8000-000000000000' as CommitId,
    tenant: 'bench' as TenantId,
    stream: 's-1' as StreamId,
    events: [
      {
        id: '0193b0c4-8c1a-7001-8000-000000000001' as EventId,
        type: 'thing.happened' as EventType,
        version: 1 as Version,
        timestamp: new Date(),
        payload: payload(1, 1),
      },
    ],
  }
  return encodeCommit(commit)
}

/** User+system CPU microseconds of a process, from /proc (Linux). */
export const procCpuMicros = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15 of the file)
  return (ticks * 1_000_000) / 100 // CLK_TCK is 100 on Linux
}

/** Runs `loop(s)` for `streams` streams at once and returns events per second. */
export const concurrently = async (streams: number, loop: (s: number) => Promise<void>): Promise<number> => {
  const t0 = performance.now()
  await Promise.all(Array.from({ length: streams }, (_, s) => loop(s)))
  return performance.now() - t0
}

/** Runs `fn` on a fresh server per round (`syncAlways`: `sync_interval: always`); returns each round's result. */
export const rounds = async <T>(n: number, fn: (b: BenchServer) => Promise<T>, syncAlways = false): Promise<T[]> => {
  const out: T[] = []
  for (let i = 0; i < n; i++) {
    const b = await freshServer(syncAlways)
    try {
      out.push(await fn(b))
    } finally {
      await b.stop()
    }
  }
  return out
}
