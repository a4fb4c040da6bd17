import { connect, headers } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { describe, expect, it } from 'vitest'
import { PipelinedPublisher } from '../../../src/adapters/nats/pipelinedPublisher.js'
import { ensureEventStream } from '../../../src/adapters/nats/eventStream.js'
import { encodeCommit } from '../../../src/adapters/codec/commitCodec.js'
import { replayEvents } from '../../../src/adapters/nats/replay.js'
import { entityState, eventCounter } from '../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectedEvent, type ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import type { Commit } from '../../../src/domain/streams/event.js'
import { withNatsServer } from '../../support/natsServer.js'
import { spawnProcessor } from '../../support/processor.js'
import { readModel } from '../../support/projections.js'

describe('projections under SIGKILL during catch-up', () => {
  const server = withNatsServer()

  it('killed at random points and restarted several times, the read models equal the pure fold', async () => {
    const nc = await connect({ servers: server().url })
    await ensureEventStream(nc, await jetstreamManager(nc))
    // 20,000 events in 5,000 commits over 200 streams, written straight to the log.
    const pub = new PipelinedPublisher(nc)
    const last = new Map<string, number>()
    for (let c = 0; c < 5_000; c += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, j) => {
          const n = c + j
          const stream = `p-${n % 200}`
          const v = Math.floor(n / 200) * 4
          const commit = {
            commitId: `c-${n}`,
            tenant: 'acme',
            stream,
            events: Array.from({ length: 4 }, (_, k) => ({ id: `e-${n}-${k}`, type: `t${(n + k) % 5}`, version: v + k + 1, timestamp: new Date(), payload: { [`f${k}`]: n } })),
          } as unknown as Commit
          const h = headers()
          h.set('Nats-Msg-Id', commit.commitId)
          h.set('AllSource-Types', [...new Set(commit.events.map((e) => e.type))].join(','))
          const r = await pub.publish(`allsource.events.acme.${stream}`, encodeCommit(commit), h)
          if (r._tag !== 'Stored') throw new Error('write failed')
          last.set(stream, r.seq)
        }),
      )
    }
    pub.close()
    const events: ProjectedEvent[] = []
    for await (const e of replayEvents(nc, { tenant: 'acme' })) events.push({ ...e })
    const end = events.at(-1)?.offset ?? 0

    const env = { NATS_URL: server().url, ALLSOURCE_EXAMPLE_MODULES: '0', ALLSOURCE_INGEST: '0', ALLSOURCE_ID_INDEX: '0', ALLSOURCE_PROJECTION_LEASE_MS: '1000' }
    const jsm = await jetstreamManager(nc)
    const checkpoint = async () => (await jsm.consumers.info('ALLSOURCE_EVENTS', 'proj_event-counter_1').catch(() => undefined))?.ack_floor.stream_seq ?? 0
    for (let kill = 0; kill < 3; kill++) {
      const p = spawnProcessor(env)
      await p.ready()
      const target = Math.floor((end * (kill + 1)) / 4)
      while ((await checkpoint()) < target) await new Promise((r) => setTimeout(r, 20 + Math.random() * 30))
      p.proc.kill('SIGKILL')
      await p.exited()
    }
    expect(await checkpoint()).toBeLessThan(end)
    const final = spawnProcessor(env)
    await final.ready()
    const caughtUp = async (name: string) =>
      ((await jsm.consumers.info('ALLSOURCE_EVENTS', `proj_${name}_1`).catch(() => undefined))?.ack_floor.stream_seq ?? 0) >= end
    while (!((await caughtUp('event-counter')) && (await caughtUp('entity-state')))) await new Promise((r) => setTimeout(r, 50))

    for (const def of [eventCounter, entityState] as ProjectionDefinition<unknown>[]) {
      const model = await readModel(nc, def.name)
      expect(model).toEqual(foldAll(def, events))
    }
    final.proc.kill('SIGTERM')
    expect(await final.exited()).toBe(0)
    await nc.close()
  }, 240_000)
})
