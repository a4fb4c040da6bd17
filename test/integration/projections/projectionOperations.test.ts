import { jetstreamManager } from '@nats-io/jetstream'
import { pack, unpack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { startProjection } from '../../../src/adapters/nats/projections/projectionRunner.js'
import { replayEvents } from '../../../src/adapters/nats/reading/replay.js'
import { entityState, eventCounter, eventFrequency } from '../../../src/domain/projections/builtins.js'
import { bucketName } from '../../../src/domain/projections/operations.js'
import { foldAll, type ProjectedEvent, type ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import type { ProjectionStatus } from '../../../src/domain/projections/operations.js'
import type { AllSource } from '../../../src/main/allSource.js'
import { withProcessor } from '../../support/processorFixture.js'
import { readModel, waitFor } from '../../support/projections.js'

type Reply = Record<string, unknown> & { error?: { code: string; message: string } }

/** A deterministic pseudo-random generator, so a failure can be replayed. */
const rng = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}

const allEvents = async (app: AllSource, tenants: readonly string[], fromOffset = 1): Promise<ProjectedEvent[]> => {
  const out: ProjectedEvent[] = []
  for (const tenant of tenants) for await (const e of app.replay({ tenant, fromOffset })) out.push(e)
  return out.sort((a, b) => a.offset - b.offset || a.version - b.version)
}

describe('projection operations on a real nats-server', () => {
  const fixture = withProcessor({ projectionOptions: { retireAfterMs: 300, leaseTtlMs: 1_000 } })
  const ask = async (subject: string, body?: unknown): Promise<Reply> =>
    unpack((await fixture().nc.request(subject, body === undefined ? new Uint8Array() : pack(body), { timeout: 10_000 })).data) as Reply
  const statusOf = async (name: string) => (await ask(`allsource.admin.projection.${name}.status`)) as unknown as ProjectionStatus
  const lastOffset = async () => (await (await jetstreamManager(fixture().nc)).streams.info('ALLSOURCE_EVENTS')).state.last_seq

  it('50,000 random events over 500 streams: incremental = rebuild from 0 = pure fold', async () => {
    const { app, nc } = fixture()
    const defs = [entityState, eventCounter, eventFrequency] as ProjectionDefinition<unknown>[]
    const runners = await app.startProjections(defs)
    const random = rng(42)
    const types = ['user.created', 'user.renamed', 'order.placed', 'order.shipped', 'item.added', 'item.removed', 'payment.made']
    let written = 0
    const pending: Promise<unknown>[] = []
    while (written < 50_000) {
      const n = Math.min(50_000 - written, 1 + Math.floor(random() * 6))
      written += n
      const stream = `s-${Math.floor(random() * 500)}`
      const tenant = random() < 0.8 ? 'acme' : 'globex'
      const batch = Array.from({ length: n }, () => ({
        type: types[Math.floor(random() * types.length)] as string,
        payload: { [`f${Math.floor(random() * 8)}`]: Math.floor(random() * 1_000), at: written },
      }))
      pending.push(app.append(tenant, stream, batch).then((r) => expect(r._tag).toBe('Right')))
      if (pending.length >= 64) await Promise.all(pending.splice(0))
    }
    await Promise.all(pending)
    const events = await allEvents(app, ['acme', 'globex'])
    expect(events).toHaveLength(50_000)
    const end = events.at(-1)?.offset as number
    for (const r of runners) await r.until((s) => s.state === 'live' && s.checkpoint === end, 120_000)
    const expected = new Map(defs.map((d) => [d.name, foldAll(d, events)]))
    for (const d of defs) expect(await readModel(nc, d.name)).toEqual(expected.get(d.name))
    expect((expected.get('entity-state') as Map<string, unknown>).size).toBe(new Set(events.map((e) => `${e.tenant}.${e.stream}`)).size)

    for (const d of defs) expect(await ask(`allsource.admin.projection.${d.name}.rebuild`, { fromOffset: 0 })).toMatchObject({ name: d.name, control: { rebuild: { fromOffset: 0 } } })
    for (const r of runners) await r.until((s) => s.generation === 2 && s.state === 'live' && s.checkpoint === end, 120_000)
    for (const d of defs) expect(await readModel(nc, d.name)).toEqual(expected.get(d.name))
    // The replaced generation is retired once readers had time to follow the pointer.
    const jsm = await jetstreamManager(nc)
    await waitFor(async () => (await jsm.streams.info(`KV_${bucketName('event-counter', 1)}`).then(() => true, () => false)) === false, 10_000, 'retirement')
    expect(await jsm.streams.info(`KV_${bucketName('event-counter', 2)}`)).toBeDefined()
    // Status reports reach the control bucket within about a second.
    const all = async () => ((await ask('allsource.admin.projections')) as unknown as { projections: ProjectionStatus[] }).projections
    await waitFor(async () => (await all()).every((p) => p.state === 'live' && p.lag === 0 && p.checkpoint === end && p.generation === 2), 10_000, 'status reports')
    expect((await all()).map((p) => p.name)).toEqual(['entity-state', 'event-counter', 'event-frequency'])
  }, 240_000)

  it('rebuilds while appends continue: reads answer throughout and the end state is exact', async () => {
    const { app, nc } = fixture()
    const def: ProjectionDefinition<{ count: number }> = { ...eventCounter, name: 'busy-counter', filter: { categories: ['busy'] } }
    const start = (await lastOffset()) + 1
    const runner = await startProjection(nc, def, { retireAfterMs: 300 })
    await app.append('acme', 'busy-1', [{ type: 'tick', payload: {} }])
    await runner.until((s) => s.state === 'live' && s.checkpoint > 0)
    let appending = true
    const appends = (async () => {
      for (let i = 0; appending; i++) await app.append('acme', `busy-${i % 20}`, [{ type: 'tick', payload: { i } }, { type: i % 2 === 0 ? 'tock' : 'tick', payload: {} }])
    })()
    let reads = 0
    const failures: string[] = []
    let reading = true
    const reader = (async () => {
      while (reading) {
        const r = await ask('allsource.projection.acme.busy-counter', { key: 'tick' })
        if (r.error !== undefined) failures.push(r.error.message)
        else reads++
      }
    })()
    await new Promise((r) => setTimeout(r, 300))
    expect(await ask('allsource.admin.projection.busy-counter.rebuild', {})).toMatchObject({ control: { rebuild: { fromOffset: 0 } } })
    await runner.until((s) => s.generation === 2 && s.state === 'live', 60_000)
    await new Promise((r) => setTimeout(r, 500)) // past the retirement of generation 1
    appending = false
    await appends
    const end = await lastOffset()
    await runner.until((s) => s.state === 'live' && s.checkpoint === end)
    reading = false
    await reader
    expect(failures).toEqual([])
    expect(reads).toBeGreaterThan(20)
    const events = await allEvents(app, ['acme'], start)
    expect(await readModel(nc, 'busy-counter')).toEqual(foldAll(def, events))
    await runner.stop()
  }, 120_000)

  it('reads keys in pages, waits for an offset (read your writes), pauses and resumes', async () => {
    const { app, nc } = fixture()
    const runner = await startProjection(nc, { ...entityState, name: 'pages', filter: { categories: ['page'] } })
    for (let i = 0; i < 25; i++) await app.append('acme', `page-${String(i).padStart(2, '0')}`, [{ type: 'made', payload: { i } }])
    const appended = await lastOffset()
    await runner.until((s) => s.state === 'live' && s.checkpoint >= appended)
    const keys: string[] = []
    let after: string | undefined
    for (let page = 0; page < 10; page++) {
      const r = (await ask('allsource.projection.acme.pages', { keys: true, limit: 7, ...(after !== undefined ? { after } : {}) })) as { keys: string[]; next?: string }
      keys.push(...r.keys)
      if (r.next === undefined) break
      after = r.next
    }
    const expected = (await readModel(nc, 'pages')).size
    expect(keys).toEqual([...keys].sort())
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys).toHaveLength(25)
    expect(expected).toBe(25)
    expect(await ask('allsource.projection.globex.pages', { keys: true })).toEqual({ keys: [] })
    // Listing keys leaves no consumer on the bucket's stream (nats.js's kv.keys kept one for minutes,
    // and a fuzz of key listings reached the server's consumer limit).
    const bucket = bucketName('pages', runner.status().generation ?? 1)
    const jsmx = await jetstreamManager(nc)
    const before = (await jsmx.streams.info(`KV_${bucket}`)).state.consumer_count // readModel() above left one of its own
    for (let i = 0; i < 30; i++) await ask('allsource.projection.acme.pages', { keys: true, limit: 3 })
    await expect.poll(async () => (await jsmx.streams.info(`KV_${bucket}`)).state.consumer_count, { timeout: 5_000 }).toBe(before)
    expect(app.consumers.inUse).toBe(0)
    // So does listing every projection's status (it lists the control bucket's keys).
    const control = 'KV_ALLSOURCE_PROJECTIONS'
    const watching = (await jsmx.streams.info(control)).state.consumer_count // the runners' and readers' watches
    for (let i = 0; i < 30; i++) expect(await ask('allsource.admin.projections')).toHaveProperty('projections')
    await expect.poll(async () => (await jsmx.streams.info(control)).state.consumer_count, { timeout: 5_000 }).toBe(watching)

    // Read your writes: the offset an append returned.
    const w = await app.append('acme', 'page-00', [{ type: 'renamed', payload: { name: 'first' } }])
    if (w._tag !== 'Right') throw new Error('append failed')
    expect(await ask('allsource.projection.acme.pages', { key: 'page-00', minOffset: w.right.offset })).toMatchObject({ state: { i: 0, name: 'first' }, offset: w.right.offset })

    expect(await ask('allsource.admin.projection.pages.pause')).toMatchObject({ control: { paused: true } })
    await runner.until((s) => s.state === 'paused')
    const w2 = await app.append('acme', 'page-01', [{ type: 'renamed', payload: { name: 'second' } }])
    if (w2._tag !== 'Right') throw new Error('append failed')
    const late = await ask('allsource.projection.acme.pages', { key: 'page-01', minOffset: w2.right.offset, timeoutMs: 300 })
    expect(late).toMatchObject({ error: { code: 'UNAVAILABLE', minOffset: w2.right.offset, checkpoint: w.right.offset } })
    expect(await statusOf('pages')).toMatchObject({ state: 'paused', checkpoint: w.right.offset })
    expect(await ask('allsource.admin.projection.pages.resume')).toMatchObject({ control: { paused: false } })
    expect(await ask('allsource.projection.acme.pages', { key: 'page-01', minOffset: w2.right.offset })).toMatchObject({ state: { i: 1, name: 'second' } })
    await runner.stop()
    expect(await statusOf('pages')).toMatchObject({ state: 'stopped' })
  })

  it('answers bad requests with typed errors', async () => {
    const end = await lastOffset()
    expect(await ask('allsource.admin.projection.event-counter.rebuild', { fromOffset: end + 2 })).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    expect(await ask('allsource.admin.projection.event-counter.rebuild', { fromOffset: -1 })).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    expect(await ask('allsource.admin.projection.event-counter.explode')).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    expect(await ask('allsource.admin.projection.no-such.status')).toMatchObject({ error: { code: 'NOT_FOUND' } })
    expect(await ask('allsource.projection.acme.no-such', { key: 'x' })).toMatchObject({ error: { code: 'NOT_FOUND' } })
    expect(await ask('allsource.projection.acme.event-counter', { key: 'bad key' })).toMatchObject({ error: { code: 'INVALID_ID' } })
    expect(await ask('allsource.projection.acme.event-counter', { key: 'x..y' })).toMatchObject({ error: { code: 'INVALID_ID' } })
    expect(await ask('allsource.projection.acme.event-counter', { keys: true, limit: 0 })).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    expect(await ask('allsource.projection.acme.event-counter', { key: 'x', timeoutMs: 1e9 })).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    expect(await ask('allsource.projection.acme.event-counter', { key: 'x', minOffset: 'soon' })).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    expect(await ask('allsource.projection.acme.event-counter', { what: 1 })).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    expect(await ask('allsource.projection.acme.event-counter', [1, 2])).toMatchObject({ error: { code: 'BAD_REQUEST' } })
  })

  it('rebuilds from a later offset: the new read model folds only what came from there', async () => {
    const { app, nc } = fixture()
    const def: ProjectionDefinition<{ count: number }> = { ...eventCounter, name: 'from-offset', filter: { tenants: ['globex'] } }
    const runner = await startProjection(nc, def, { retireAfterMs: 300 })
    for (let i = 0; i < 30; i++) await app.append('globex', `late-${i % 3}`, [{ type: `t${i % 4}`, payload: {} }])
    const end = await lastOffset()
    await runner.until((s) => s.state === 'live' && s.checkpoint === end)
    const from = end - 10
    await ask('allsource.admin.projection.from-offset.rebuild', { fromOffset: from })
    await runner.until((s) => s.generation === 2 && s.state === 'live' && s.checkpoint === end)
    const events = await allEvents(app, ['globex'], from)
    expect(await readModel(nc, 'from-offset')).toEqual(foldAll(def, events))
    await runner.stop()
  })

  it('a new version of a fold is rebuilt into a new read model while the old one keeps answering', async () => {
    const { app, nc } = fixture()
    const start = (await lastOffset()) + 1
    const v1: ProjectionDefinition<{ count: number }> = { ...eventCounter, name: 'versioned', filter: { categories: ['ver'] } }
    const first = await startProjection(nc, v1)
    await app.append('acme', 'ver-1', [{ type: 'a', payload: {} }, { type: 'b', payload: {} }])
    const end = await lastOffset()
    await first.until((s) => s.state === 'live' && s.checkpoint === end)
    await first.stop()
    const v2: ProjectionDefinition<{ count: number }> = { ...v1, version: 2, fold: (s) => ({ count: s.count + 10 }) }
    const second = await startProjection(nc, v2, { retireAfterMs: 300 })
    const seen = await ask('allsource.projection.acme.versioned', { key: 'a' })
    expect(seen).toMatchObject({ key: 'a' }) // answered, from one generation or the other
    await second.until((s) => s.generation === 2 && s.state === 'live' && s.checkpoint === end)
    expect(await readModel(nc, 'versioned')).toEqual(foldAll(v2, await allEvents(app, ['acme'], start)))
    expect(second.status().version).toBe(2)
    await second.stop()
  })

  it('parks a poison event, and a resume after the cause is fixed carries on exactly', async () => {
    const { app, nc } = fixture()
    let broken = true
    const def: ProjectionDefinition<number> = {
      name: 'flaky',
      version: 1,
      filter: { tenants: ['acme'], types: ['poison', 'fine'] },
      key: (e) => e.type,
      initialState: 0,
      fold: (s, e) => {
        if (broken && e.type === 'poison') throw new Error('cannot fold poison yet')
        return s + 1
      },
    }
    const runner = await startProjection(nc, def)
    await app.append('acme', 'flaky-1', [{ type: 'fine', payload: {} }])
    const p = await app.append('acme', 'flaky-1', [{ type: 'fine', payload: {} }, { type: 'poison', payload: {} }])
    if (p._tag !== 'Right') throw new Error('append failed')
    await app.append('acme', 'flaky-1', [{ type: 'fine', payload: {} }])
    await runner.until((s) => s.state === 'failed')
    expect(await statusOf('flaky')).toMatchObject({ state: 'failed', lastError: { offset: p.right.offset, message: 'cannot fold poison yet' } })
    await new Promise((r) => setTimeout(r, 300))
    expect(runner.status().state).toBe('failed') // parked: no retry loop
    broken = false
    await ask('allsource.admin.projection.flaky.resume')
    const end = await lastOffset()
    await runner.until((s) => s.state === 'live' && s.checkpoint === end)
    expect(await readModel(nc, 'flaky')).toEqual(new Map([['acme.fine', 3], ['acme.poison', 1]]))
    await runner.stop()
  })

  it('two runners of one projection: only the lease holder folds; the other takes over when it stops', async () => {
    const { app, nc } = fixture()
    const start = (await lastOffset()) + 1
    const def: ProjectionDefinition<{ count: number }> = { ...eventCounter, name: 'leased', filter: { categories: ['lease'] } }
    const a = await startProjection(nc, def, { owner: 'a', leaseTtlMs: 500 })
    const b = await startProjection(nc, def, { owner: 'b', leaseTtlMs: 500 })
    await app.append('acme', 'lease-1', [{ type: 'x', payload: {} }])
    await waitFor(() => [a, b].some((r) => r.status().state === 'live'))
    const [leader, other] = a.status().state === 'live' ? [a, b] : [b, a]
    expect(other.status().state).toBe('standby')
    await new Promise((r) => setTimeout(r, 1_200)) // several renewals: the lease stays put
    expect(other.status().state).toBe('standby')
    await leader.stop()
    await other.until((s) => s.state === 'live')
    await app.append('acme', 'lease-1', [{ type: 'x', payload: {} }])
    const end = await lastOffset()
    await other.until((s) => s.checkpoint === end)
    expect(await statusOf('leased')).toMatchObject({ owner: other === a ? 'a' : 'b' })
    expect(await readModel(nc, 'leased')).toEqual(foldAll(def, await allEvents(app, ['acme'], start)))
    await other.stop()
  })
})
