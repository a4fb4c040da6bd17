import { connect, type Msg } from '@nats-io/transport-node'
import { pack, unpack } from 'msgpackr'
import { beforeAll, describe, expect, it } from 'vitest'
import { startProjection } from '../../../src/adapters/nats/projections/projectionRunner.js'
import { runFold } from '../../../src/adapters/nats/projections/projectionFold.js'
import { Kvm } from '@nats-io/kv'
import { createProjectionReader } from '../../../src/adapters/nats/projections/projectionReader.js'
import { readModel, waitFor } from '../../support/projections.js'
import { replayEvents } from '../../../src/adapters/nats/reading/replay.js'
import { entityState, eventCounter, eventFrequency } from '../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectedEvent, type ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import { withProcessor } from '../../support/processorFixture.js'

describe('projections: fold the log into KV and publish every change', () => {
  const fixture = withProcessor()
  const events: ProjectedEvent[] = []

  beforeAll(async () => {
    const { app, nc } = fixture()
    let n = 0
    for (let i = 0; i < 400; i++) {
      const count = 1 + (i % 3)
      const batch = Array.from({ length: count }, () => {
        n++
        return { type: ['user.created', 'user.renamed', 'order.placed'][n % 3] as string, payload: { n, [`f${n % 4}`]: n } }
      })
      await app.append(i % 9 === 0 ? 'other' : 'acme', `user-${i % 50}`, batch)
    }
    for (const tenant of ['acme', 'other']) for await (const e of replayEvents(nc, { tenant })) events.push(e)
    events.sort((a, b) => a.offset - b.offset || a.version - b.version)
  })

  it.each([entityState, eventCounter, eventFrequency] as ProjectionDefinition<unknown>[])(
    '$name: the read model equals a pure in-memory fold of the same events',
    async (def) => {
      const { nc } = fixture()
      const runner = await startProjection(nc, def)
      await waitFor(() => runner.status().state === 'live' && runner.status().checkpoint === events.at(-1)?.offset)
      expect(await readModel(nc, def.name)).toEqual(foldAll(def, events))
      expect(runner.status()).toMatchObject({ name: def.name, lag: 0 })
      await runner.stop()
    },
  )

  it('stopped mid-way and restarted, it neither double counts nor skips', async () => {
    const { nc } = fixture()
    const def: ProjectionDefinition<{ count: number }> = { ...eventCounter, name: 'restart-counter' }
    const first = await startProjection(nc, def)
    await waitFor(() => first.status().checkpoint >= 100)
    await first.stop()
    const second = await startProjection(nc, def)
    await waitFor(() => second.status().checkpoint === events.at(-1)?.offset)
    expect(await readModel(nc, def.name)).toEqual(foldAll(def, events))
    await second.stop()
  })

  it('with a key cache smaller than its keys (cleared after every chunk), still exact', async () => {
    const { nc } = fixture()
    const def: ProjectionDefinition<Record<string, unknown>> = { ...entityState, name: 'small-cache-entities' }
    // Small chunks: each is folded while the one before is written, so keys build on entries not yet
    // written (their writes must expect the revision that write gets) and on entries read back from KV.
    const runner = await startProjection(nc, def, { chunk: 25, cacheKeys: 5 })
    await waitFor(() => runner.status().checkpoint === events.at(-1)?.offset)
    expect(runner.status().state).toBe('live')
    expect(await readModel(nc, def.name)).toEqual(foldAll(def, events))
    await runner.stop()
  })

  it('is fenced off when another writer changes a key between folding it and writing it, even after the cache was cleared', async () => {
    const { nc } = fixture()
    const def: ProjectionDefinition<Record<string, unknown>> = { ...entityState, name: 'fenced-entities' }
    const target = { bucket: 'ALLSOURCE_PROJ_fenced-entities_1', durable: 'proj_fenced-entities_1', fromOffset: 1 }
    const failures: string[] = []
    let flushes = 0
    const fold = await runFold(
      nc,
      def,
      target,
      {
        prefix: 'allsource',
        // Chunks of 30 commits over 50 streams share keys with the chunk before, written while they fold.
        chunk: 30,
        cacheKeys: 5,
        // Just before the 4th chunk is written, another writer puts every key (on this connection, so
        // the server has those writes first).
        mayWrite: () => {
          if (++flushes === 4) for (let i = 0; i < 50; i++) nc.publish(`$KV.${target.bucket}.acme.user-${i}`, pack({ rogue: true }))
          return true
        },
      },
      { progress: () => undefined, poison: () => undefined, failure: (m) => failures.push(m) },
    )
    await waitFor(() => failures.length > 0)
    expect(failures[0]).toMatch(/fenced off/)
    await fold.stop()
    // Nothing the other writer put was overwritten: each write expected the revision its entry was folded from.
    const kv = await new Kvm(nc).open(target.bucket)
    for (let i = 0; i < 50; i++) expect(unpack((await kv.get(`acme.user-${i}`))?.value ?? new Uint8Array())).toEqual({ rogue: true })
  })

  it('publishes every key’s updates in offset order, the last equal to the read model', async () => {
    const { nc } = fixture()
    const def: ProjectionDefinition<Record<string, unknown>> = { ...entityState, name: 'topic-entities' }
    const seen = new Map<string, { offset: number; state: unknown }[]>()
    const contentTypes = new Set<string>()
    const sub = nc.subscribe('allsource.projections.acme.topic-entities.>', {
      callback: (_e, m: Msg) => {
        const u = unpack(m.data) as { key: string; offset: number; state: unknown; projection: string; tenant: string }
        expect(u).toMatchObject({ projection: 'topic-entities', tenant: 'acme' })
        if (m.headers?.get('Content-Type') !== 'application/msgpack') contentTypes.add(m.headers?.get('Content-Type') ?? '(none)')
        seen.set(u.key, [...(seen.get(u.key) ?? []), { offset: u.offset, state: u.state }])
      },
    })
    await nc.flush()
    const runner = await startProjection(nc, def)
    await waitFor(() => runner.status().checkpoint === events.at(-1)?.offset)
    await nc.flush()
    const model = await readModel(nc, def.name)
    const reader = await createProjectionReader(nc)
    for (const [key, updates] of seen) {
      const offsets = updates.map((u) => u.offset)
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
      expect(updates.at(-1)?.state).toEqual(model.get(`acme.${key}`))
      expect(await reader.get(def.name, 'acme', key)).toMatchObject({ key, offset: updates.at(-1)?.offset })
    }
    expect(seen.size).toBe([...model.keys()].filter((k) => k.startsWith('acme.')).length)
    expect(contentTypes).toEqual(new Set()) // every update says Content-Type: application/msgpack
    expect(await reader.get(def.name, 'acme', 'nobody')).toBeUndefined()
    sub.unsubscribe()
    reader.close()
    await runner.stop()
  })

  it('parks a poison event in failed with its offset, instead of looping or skipping', async () => {
    const { nc } = fixture()
    const poison = events.find((e) => e.type === 'order.placed' && e.tenant === 'acme') as ProjectedEvent
    const def: ProjectionDefinition<number> = {
      name: 'poisoned',
      version: 1,
      key: (e) => e.type,
      initialState: 0,
      fold: (s, e) => {
        if (e.offset === poison.offset) throw new Error('cannot fold this')
        return s + 1
      },
    }
    const runner = await startProjection(nc, def)
    await waitFor(() => runner.status().state === 'failed')
    expect(runner.status()).toMatchObject({ state: 'failed', lastError: { offset: poison.offset, message: 'cannot fold this' } })
    expect(runner.status().checkpoint).toBeLessThan(poison.offset)
    await runner.stop()
    const bad: ProjectionDefinition<number> = { ...def, name: 'bad-key', fold: (s) => s + 1, key: () => 'no spaces allowed' }
    const badRunner = await startProjection(nc, bad)
    await waitFor(() => badRunner.status().state === 'failed')
    expect(badRunner.status().lastError?.message).toMatch(/not a valid projection key/)
    await badRunner.stop()
    const nothing: ProjectionDefinition<number> = { ...def, name: 'returns-nothing', fold: () => undefined as unknown as number }
    const nothingRunner = await startProjection(nc, nothing)
    await waitFor(() => nothingRunner.status().state === 'failed')
    expect(nothingRunner.status().lastError).toMatchObject({ message: 'fold returned undefined', offset: events[0]?.offset })
    await nothingRunner.stop()
  })
})

describe('projection reads over NATS: allsource.projection.<tenant>.<projection>', () => {
  const fixture = withProcessor()

  it('answers { key, state, offset }, NOT_FOUND, INVALID_ID, and status without a key', async () => {
    const { app, nc } = fixture()
    await app.append('acme', 'user-1', [{ type: 'user.created', payload: { name: 'Ann' } }])
    const [runner] = await app.startProjections([entityState] as ProjectionDefinition<unknown>[])
    await waitFor(() => runner?.status().state === 'live' && runner.status().checkpoint >= 1)
    const ask = async (subject: string, body: unknown) => unpack((await nc.request(subject, pack(body), { timeout: 5_000 })).data) as Record<string, unknown>
    expect(await ask('allsource.projection.acme.entity-state', { key: 'user-1' })).toEqual({ key: 'user-1', state: { name: 'Ann' }, offset: 1 })
    expect(await ask('allsource.projection.acme.entity-state', { key: 'user-2' })).toMatchObject({ error: { code: 'NOT_FOUND' } })
    expect(await ask('allsource.projection.acme.nothing-here', { key: 'user-1' })).toMatchObject({ error: { code: 'NOT_FOUND' } })
    expect(await ask('allsource.projection.acme.entity-state', { key: 'a b' })).toMatchObject({ error: { code: 'INVALID_ID' } })
    expect(await ask('allsource.projection.acme.entity-state', {})).toMatchObject({ name: 'entity-state', state: 'live', lag: 0 })
    await expect(app.startProjections([entityState] as ProjectionDefinition<unknown>[])).rejects.toThrow(/already running/)
  })
})
