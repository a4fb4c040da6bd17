import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { afterAll, describe, expect, it } from 'vitest'
import { openProjectionCatalog } from '../../../src/adapters/nats/projections/projectionControl.js'
import { entityState, eventCounter } from '../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import { acmeEvents, writeCommitsToLog } from '../../support/logWriter.js'
import { withNatsServer } from '../../support/natsServer.js'
import { type ProcessorProcess, spawnProcessor } from '../../support/processor.js'
import { readModel, waitFor } from '../../support/projections.js'
import { cleanUp } from '../../support/cleanUp.js'

describe('two processor instances and one projection', () => {
  const server = withNatsServer()
  // A failed assertion must not leave a processor running (it would outlive its server).
  const spawned: ProcessorProcess[] = []
  afterAll(() => cleanUp(...spawned.map((p) => () => (p.proc.exitCode === null && p.proc.signalCode === null ? p.proc.kill('SIGKILL') : undefined))))

  it('only the lease holder folds; SIGKILL it and the other takes over, exactly', async () => {
    const nc = await connect({ servers: server().url })
    await writeCommitsToLog(nc, 10_000)
    const events = await acmeEvents(nc)
    const end = events.at(-1)?.offset as number

    const env = (name: string) => ({
      NATS_URL: server().url,
      ALLSOURCE_INSTANCE: name,
      ALLSOURCE_LEASE_MS: '1000', ALLSOURCE_PROJECTION_CHUNK: '100',
      ALLSOURCE_EXAMPLE_MODULES: '0',
      ALLSOURCE_INGEST: '0',
      ALLSOURCE_ID_INDEX: '0',
    })
    const procs: Record<string, ProcessorProcess> = { a: spawnProcessor(env('proc-a')), b: spawnProcessor(env('proc-b')) }
    spawned.push(...Object.values(procs))
    await Promise.all(Object.values(procs).map((p) => p.ready()))
    const catalog = await openProjectionCatalog(nc)
    const ownerOf = async () => (await catalog.statuses()).find((s) => s.name === 'event-counter')?.owner
    await waitFor(async () => (await ownerOf()) !== undefined, 30_000, 'an owner')
    const leaderName = (await ownerOf()) as string
    const [leader, other] = leaderName === 'proc-a' ? [procs.a, procs.b] : [procs.b, procs.a]
    if (leader === undefined || other === undefined) throw new Error('unreachable')

    // Part-way through catch-up: the other instance has folded nothing of event-counter so far.
    const jsm = await jetstreamManager(nc)
    const checkpoint = async () => (await jsm.consumers.info('ALLSOURCE_EVENTS', 'proj_event-counter_1').catch(() => undefined))?.ack_floor.stream_seq ?? 0
    await waitFor(async () => (await checkpoint()) >= end / 3, 60_000, 'a third of the log')
    const folding = /projection event-counter: (catching-up|live)/
    expect(leader.output()).toMatch(folding)
    expect(other.output()).toMatch(/projection event-counter: standby/)
    expect(other.output()).not.toMatch(folding)
    expect(await checkpoint()).toBeLessThan(end)

    leader.proc.kill('SIGKILL')
    await leader.exited()
    await waitFor(() => folding.test(other.output()), 30_000, 'the takeover')
    await waitFor(async () => (await checkpoint()) >= end, 120_000, 'catch-up by the survivor')
    await waitFor(async () => (await catalog.statuses()).find((s) => s.name === 'event-counter')?.state === 'live', 10_000, 'live')
    expect(await ownerOf()).toBe(leaderName === 'proc-a' ? 'proc-b' : 'proc-a')
    for (const def of [eventCounter, entityState] as ProjectionDefinition<unknown>[]) {
      await waitFor(async () => ((await jsm.consumers.info('ALLSOURCE_EVENTS', `proj_${def.name}_1`)).ack_floor.stream_seq) >= end, 120_000, def.name)
      expect(await readModel(nc, def.name)).toEqual(foldAll(def, events))
    }
    other.proc.kill('SIGTERM')
    expect(await other.exited()).toBe(0)
    await nc.close()
  }, 240_000)
})
