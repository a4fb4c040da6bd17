import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { describe, expect, it } from 'vitest'
import { entityState, eventCounter } from '../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import { withNatsServer } from '../../support/natsServer.js'
import { spawnProcessor } from '../../support/processor.js'
import { readModel } from '../../support/projections.js'
import { acmeEvents, writeCommitsToLog } from '../../support/logWriter.js'

describe('projections under SIGKILL during catch-up', () => {
  const server = withNatsServer()

  it('killed at random points and restarted several times, the read models equal the pure fold', async () => {
    const nc = await connect({ servers: server().url })
    // 40,000 events in 10,000 commits over 200 streams, written straight to the log.
    await writeCommitsToLog(nc, 10_000)
    const events = await acmeEvents(nc)
    const end = events.at(-1)?.offset ?? 0

    const env = { NATS_URL: server().url, ALLSOURCE_EXAMPLE_MODULES: '0', ALLSOURCE_INGEST: '0', ALLSOURCE_ID_INDEX: '0', ALLSOURCE_LEASE_MS: '1000', ALLSOURCE_PROJECTION_CHUNK: '100' }
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
