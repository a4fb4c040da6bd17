import * as E from 'fp-ts/lib/Either.js'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StreamSupervisor } from '../../../actors/streams/streamSupervisor.js'
import { defaultEventStreamOptions, ensureEventStream } from '../../../src/adapters/nats/log/eventStream.js'
import { createJetStreamEventLog, ProbeFailed, type JetStreamEventLog } from '../../../src/adapters/nats/log/jetStreamEventLog.js'
import { PipelinedPublisher, type Publisher } from '../../../src/adapters/nats/log/pipelinedPublisher.js'
import { systemClock, uuidv7Ids } from '../../../src/adapters/system/systemClock.js'
import { type AppendCommand, validateAppendRequest } from '../../../src/domain/streams/appendRequest.js'
import { moduleRegistry } from '../../../src/domain/streams/module.js'
import type { StreamId, TenantId } from '../../../src/domain/streams/ids.js'
import { commitOf } from '../../support/eventLogContract.js'
import { startCluster, topologies, type NatsTopology } from '../../support/natsTopologies.js'
import { localNatsServerPath } from '../../../src/main/natsServer/findNatsServer.js'

let n = 0
const cmd = (stream: string, body: Record<string, unknown>): AppendCommand => {
  const r = validateAppendRequest('acme', stream, { events: [{ type: 'thing', payload: { n: ++n } }], ...body })
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return r.right
}

/** The real publisher, except that while `drop` is set a publish is sent and stored but its ack is "lost". */
const lossyPublisher = (nc: NatsConnection) => {
  const real = new PipelinedPublisher(nc)
  const state = { drop: 0 }
  const publisher: Publisher = {
    publish: async (subject, data, h) => {
      const r = await real.publish(subject, data, h)
      if (state.drop === 0) return r
      state.drop--
      return { _tag: 'TimedOut' }
    },
    close: () => real.close(),
  }
  return { publisher, state }
}

const versionsOf = async (log: JetStreamEventLog, stream: string): Promise<number[]> => {
  const head = await log.readHead('acme' as TenantId, stream as StreamId)
  const out: number[] = []
  for await (const c of log.readStream('acme' as TenantId, stream as StreamId, head.lastOffset)) out.push(...c.commit.events.map((e) => e.version))
  return out
}

describe.each(topologies)('duplicates on $name', ({ start }) => {
  let topo: NatsTopology
  let nc: NatsConnection
  let log: JetStreamEventLog
  let lossy: ReturnType<typeof lossyPublisher>
  let sup: StreamSupervisor
  const supervisor = (l: JetStreamEventLog) => new StreamSupervisor({ log: l, modules: moduleRegistry([]), clock: systemClock, ids: uuidv7Ids })

  beforeAll(async () => {
    topo = await start()
    nc = await connect({ servers: [...topo.urls] })
    await ensureEventStream(nc, await jetstreamManager(nc), { ...defaultEventStreamOptions, replicas: topo.replicas }, () => undefined)
    lossy = lossyPublisher(nc)
    log = createJetStreamEventLog(nc, {}, lossy.publisher)
    sup = supervisor(log)
  }, 30_000)
  afterAll(async () => {
    await sup?.close()
    log?.close()
    await nc?.close()
    await topo?.stop()
  })

  it('answers a retry after a lost reply, with a stale expectedVersion, as duplicate: true with the first result', async () => {
    const first = await sup.append(cmd('lost-1', { commitId: 'lost-1-a', expectedVersion: 'no_stream' }))
    expect(E.isRight(first)).toBe(true)
    const retry = await sup.append(cmd('lost-1', { commitId: 'lost-1-a', expectedVersion: 'no_stream' }))
    expect(retry).toEqual(E.isRight(first) && E.right({ ...first.right, duplicate: true }))
    // The stream moved on in between; a fresh processor (no memory of the first) still knows it.
    await sup.append(cmd('lost-1', { expectedVersion: 1 }))
    const fresh = supervisor(createJetStreamEventLog(nc))
    const late = await fresh.append(cmd('lost-1', { commitId: 'lost-1-a', expectedVersion: 'no_stream' }))
    expect(late).toEqual(E.isRight(first) && E.right({ ...first.right, duplicate: true }))
    await fresh.close()
    expect(await versionsOf(log, 'lost-1')).toEqual([1, 2])
  })

  it('finds a commit deep in the window (not the last one) and says when there is none', async () => {
    const c = commitOf('acme', 'deep-1', 0)
    let last = 0
    for (let v = 0; v < 30; v++) {
      const r = await log.append(v === 3 ? c : commitOf('acme', 'deep-1', v), last)
      last = r._tag === 'Appended' ? r.offset : -1
    }
    expect((await log.findDuplicate(c))?.commit.events[0]?.id).toBe(c.events[0]?.id)
    expect(await log.findDuplicate(commitOf('acme', 'deep-1', 0))).toBeUndefined()
    expect(await log.findDuplicate(commitOf('acme', 'deep-none', 0))).toBeUndefined()
    // Lookups past the concurrency bound wait for a turn.
    const narrow = createJetStreamEventLog(nc, { maxConcurrentProbes: 2 })
    const found = await Promise.all(Array.from({ length: 20 }, () => narrow.findDuplicate(c)))
    expect(found.map((f) => f?.commit.commitId)).toEqual(found.map(() => c.commitId))
    narrow.close()
    // Every lookup removes its (headers-only) consumer.
    const jsm = await jetstreamManager(nc)
    const consumers = async () => (await jsm.consumers.list('ALLSOURCE_EVENTS').next()).filter((c) => c.config.headers_only === true).length
    for (let i = 0; i < 50 && (await consumers()) > 0; i++) await new Promise((r) => setTimeout(r, 100))
    expect(await consumers()).toBe(0)
  })

  it('a re-publish after a timeout that meets an older commit is that commit (its versions), not ours, and leaves no gap', async () => {
    const first = await sup.append(cmd('timeout-1', { commitId: 'timeout-1-a' }))
    expect(E.isRight(first) && first.right.toVersion).toBe(1)
    // The client retries with expectedVersion "any": the actor prepares version 2 under the same
    // commitId, the server dedupes it to the first commit, and that ack is lost.
    lossy.state.drop = 1
    const retry = await sup.append(cmd('timeout-1', { commitId: 'timeout-1-a' }))
    expect(retry).toEqual(E.isRight(first) && E.right({ ...first.right, duplicate: true }))
    const next = await sup.append(cmd('timeout-1', {}))
    expect(E.isRight(next) && [next.right.fromVersion, next.right.toVersion]).toEqual([2, 2])
    expect(await versionsOf(log, 'timeout-1')).toEqual([1, 2])
  })

  it('at the log: a retried publish is Appended only when the stored commit is this very commit', async () => {
    const old = commitOf('acme', 'timeout-2', 0, 1, 'timeout-2-a')
    const a = await log.append(old, 0)
    const offset = a._tag === 'Appended' ? a.offset : -1
    const again = commitOf('acme', 'timeout-2', 1, 1, 'timeout-2-a')
    lossy.state.drop = 1
    const r = await log.append(again, offset)
    expect(r).toMatchObject({ _tag: 'Duplicate', original: { offset, commit: { commitId: 'timeout-2-a', events: [{ id: old.events[0]?.id, version: 1 }] } } })
    // Our own attempt stored with its ack lost is ours.
    lossy.state.drop = 1
    const mine = commitOf('acme', 'timeout-2', 1)
    expect(await log.append(mine, offset)).toMatchObject({ _tag: 'Appended' })
    expect(await versionsOf(log, 'timeout-2')).toEqual([1, 2])
  })
})

describe('a duplicate check without quorum (R3, 2 of 3 nodes down)', () => {
  let topo: NatsTopology
  let nc: NatsConnection

  beforeAll(async () => {
    topo = await startCluster('R3 2.15', localNatsServerPath())
  }, 30_000)
  afterAll(async () => {
    await nc?.close()
    await topo?.stop()
  })

  it('answers UNAVAILABLE with the commitId, never the original 409', async () => {
    // Connected to the node that stays up only.
    nc = await connect({ servers: topo.urls[0] as string })
    await ensureEventStream(nc, await jetstreamManager(nc), { ...defaultEventStreamOptions, replicas: 3 }, () => undefined)
    const log = createJetStreamEventLog(nc, { probeTimeoutMs: 1_500 })
    const sup = new StreamSupervisor({ log, modules: moduleRegistry([]), clock: systemClock, ids: uuidv7Ids })
    expect(E.isRight(await sup.append(cmd('quorum-1', { commitId: 'quorum-1-a', expectedVersion: 'no_stream' })))).toBe(true)
    expect(E.isRight(await sup.append(cmd('quorum-1', { expectedVersion: 1 })))).toBe(true)
    await Promise.all(topo.nodes.slice(1).map((s) => s.stop()))

    const retry = await sup.append(cmd('quorum-1', { commitId: 'quorum-1-a', expectedVersion: 'no_stream' }))
    expect(E.isLeft(retry) && retry.left).toMatchObject({ _tag: 'Unavailable', details: { commitId: 'quorum-1-a' } })
    const probe = log.findDuplicate(commitOf('acme', 'quorum-1', 0, 1, 'quorum-1-a'))
    await expect(probe).rejects.toBeInstanceOf(ProbeFailed)
    await expect(probe).rejects.toThrow(/quorum-1-a/)
    await sup.close()
    log.close()
  }, 25_000)
})
