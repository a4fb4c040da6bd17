import { Kvm } from '@nats-io/kv'
import { jetstreamManager } from '@nats-io/jetstream'
import * as E from 'fp-ts/lib/Either.js'
import { beforeAll, describe, expect, it } from 'vitest'
import { encodeCommit, typesHeader } from '../../../src/adapters/codec/commitCodec.js'
import { PipelinedPublisher } from '../../../src/adapters/nats/log/pipelinedPublisher.js'
import { WireHeaders } from '../../../src/adapters/nats/log/wireHeaders.js'
import { ID_INDEX_BUCKET, LEGACY_ID_INDEX_BUCKET, legacyIndexPresent, openEventIdIndex } from '../../../src/adapters/nats/reading/eventIdIndex.js'
import { createQuery, type QueryPage } from '../../../src/adapters/nats/reading/query.js'
import type { ReplayedEvent } from '../../../src/adapters/nats/reading/replay.js'
import { uuidv7 } from '../../../src/adapters/system/uuidv7.js'
import { defaultIdWindow, findableByTime, type IdWindow, uuidv7Millis } from '../../../src/domain/reading/idWindow.js'
import { validateQueryRequest } from '../../../src/domain/reading/queryRequest.js'
import type { Commit } from '../../../src/domain/streams/event.js'
import { startGateway } from '../../../src/main/http/startGateway.js'
import { call } from '../../support/gatewayFixture.js'
import { withProcessor } from '../../support/processorFixture.js'
import { startNatsServer } from '../../support/natsServer.js'
import { createAllSource } from '../../../src/main/allSource.js'
import { connect } from '@nats-io/transport-node'

/** A UUIDv7 text with the given Unix milliseconds. */
const v7At = (ms: number): string => {
  const hex = ms.toString(16).padStart(12, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7${uuidv7().slice(15)}`
}

describe('lookup by event id: by the time in a UUIDv7, else the supplied-id index', () => {
  const fixture = withProcessor()
  /** Where each written event is, by tenant and id. */
  const written = new Map<string, { tenant: string; stream: string; offset: number }>()
  const versions = new Map<string, number>()

  /** Publishes one-event commits straight to the log with these ids (as a stream actor would). */
  const publish = async (items: readonly { tenant: string; id: string }[]): Promise<void> => {
    const pub = new PipelinedPublisher(fixture().nc)
    try {
      await Promise.all(
        items.map(async ({ tenant, id }, i) => {
          const stream = `raw-${i % 7}`
          const version = (versions.get(`${tenant}.${stream}`) ?? 0) + 1
          versions.set(`${tenant}.${stream}`, version)
          const commit = { commitId: `c-${tenant}-${id}`, tenant, stream, events: [{ id, type: 'thing.happened', version, timestamp: new Date(), payload: { i } }] } as unknown as Commit
          const r = await pub.publish(`allsource.events.${tenant}.${stream}`, encodeCommit(commit), WireHeaders.of(['Nats-Msg-Id', commit.commitId], ['AllSource-Types', typesHeader(commit.events)]))
          if (r._tag !== 'Stored') throw new Error(`publish failed: ${r._tag}`)
          written.set(`${tenant}/${id}`, { tenant, stream, offset: r.seq })
        }),
      )
    } finally {
      pub.close()
    }
  }

  /** A query as the processor runs it; `scanBudget: 1` makes a scan of the log's tail useless, so a hit came by time or by the index. */
  const queryWith = (scanBudget: number, idWindow?: IdWindow) => {
    let q: ReturnType<typeof createQuery> | undefined
    return async (tenant: string, id: string): Promise<QueryPage> => {
      q ??= createQuery(fixture().nc, { index: await openEventIdIndex(fixture().nc), scanBudget, ...(idWindow !== undefined ? { idWindow } : {}) })
      const req = validateQueryRequest({ id })
      if (E.isLeft(req)) throw new Error(JSON.stringify(req.left))
      const r = await q(tenant, req.right)
      if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
      return r.right
    }
  }
  const noTailScan = queryWith(1)
  const fullScan = queryWith(100_000)
  const where = (e: ReplayedEvent | undefined) => (e === undefined ? undefined : { id: e.id, tenant: e.tenant, stream: e.stream, offset: e.offset })
  /** Found by time alone exactly when the store time of its commit is inside the id's window; counts the hits. */
  let byTime = 0
  const expectFoundByTime = async (tenant: string, id: string) => {
    const m = await (await jetstreamManager(fixture().nc)).direct.getMessage('ALLSOURCE_EVENTS', { seq: written.get(`${tenant}/${id}`)?.offset ?? 0 })
    if (findableByTime(id, m?.time.getTime() ?? 0)) {
      await expectFound(noTailScan, tenant, id)
      byTime++
    } else expect((await noTailScan(tenant, id)).events).toEqual([]) // only a machine stalled for seconds gets here: then the index holds it
  }
  const expectFound = async (lookup: (t: string, id: string) => Promise<QueryPage>, tenant: string, id: string) => {
    const page = await lookup(tenant, id)
    expect(page.events.map(where)).toEqual([{ id, ...written.get(`${tenant}/${id}`) }])
  }

  /** Ids a lookup by time cannot find (the indexer must hold them), and ids near the window's edges (it must not), minted just before they are published. */
  let supplied = { old: '', future: '', order: 'order-17', shared: 'shared-1' }
  let nearEdges = { ahead: '', behind: '' }
  let burst: string[] = []

  beforeAll(async () => {
    const { app } = fixture()
    // Through the real write path: the processor mints the ids.
    for (let i = 0; i < 20; i++) {
      for (const tenant of ['acme', 'other']) {
        const r = await app.append(tenant, `order-${i % 3}`, [{ type: 'order.placed', payload: { i } }, { type: 'order.paid', payload: { i } }])
        if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
        r.right.eventIds.forEach((id) => written.set(`${tenant}/${id}`, { tenant, stream: `order-${i % 3}`, offset: r.right.offset }))
      }
    }
    const now = Date.now()
    supplied = { ...supplied, old: v7At(now - 3_600_000), future: v7At(now + 5_000) }
    // Stored ~800 ms before their id's time (a server clock behind), and ~1,700 ms after it (a slow publish).
    nearEdges = { ahead: v7At(now + defaultIdWindow.beforeMs - 200), behind: v7At(now - defaultIdWindow.afterMs + 300) }
    await publish([
      ...Object.values(nearEdges).map((id) => ({ tenant: 'acme', id })),
      ...Object.values(supplied).map((id) => ({ tenant: 'acme', id })),
      { tenant: 'other', id: supplied.shared },
      { tenant: 'other', id: 'only-other' },
    ])
    // A large-ish window: 3,000 commits in the same second or two, both tenants interleaved.
    burst = Array.from({ length: 3_000 }, () => uuidv7())
    await publish(burst.map((id, i) => ({ tenant: i % 3 === 0 ? 'other' : 'acme', id })))
  })

  it('finds ids the processor minted by time alone, with tenant, stream and offset', async () => {
    const minted = [...written.entries()].filter(([, w]) => w.stream.startsWith('order-')).map(([k, w]) => [w.tenant, k.slice(w.tenant.length + 1)] as const)
    expect(minted.length).toBe(80)
    byTime = 0
    for (const [tenant, id] of minted) await expectFoundByTime(tenant, id)
    expect(byTime).toBeGreaterThan(0)
  })

  it('finds the first, last and middle ids of a 3,000-commit burst by time, and never another tenant’s', async () => {
    const acme = burst.filter((_, i) => i % 3 !== 0)
    byTime = 0
    for (const id of [acme[0], acme[1], acme[Math.floor(acme.length / 2)], acme.at(-2), acme.at(-1)] as string[]) await expectFoundByTime('acme', id)
    expect(byTime).toBeGreaterThan(0)
    const other = burst.filter((_, i) => i % 3 === 0)
    for (const id of [other[0], other.at(-1)] as string[]) {
      expect((await noTailScan('acme', id)).events).toEqual([])
      expect((await fullScan('acme', id)).events).toEqual([])
      await expectFoundByTime('other', id)
    }
  })

  it('finds ids stored near the edges of their window by time, and not just outside them', async () => {
    const jsm = await jetstreamManager(fixture().nc)
    for (const id of Object.values(nearEdges)) {
      const at = written.get(`acme/${id}`)
      const m = await jsm.direct.getMessage('ALLSOURCE_EVENTS', { seq: at?.offset ?? 0 })
      const delta = (m?.time.getTime() ?? Number.NaN) - (uuidv7Millis(id) ?? Number.NaN) // store time minus the id's time
      // The default window: found by time exactly when the indexer would leave it out.
      expect((await noTailScan('acme', id)).events.length).toBe(findableByTime(id, m?.time.getTime() ?? 0) ? 1 : 0)
      // A window whose edge is 1 ms beyond the store time finds it; one whose edge stops 1 ms short does not.
      const within = { beforeMs: Math.max(0, -delta) + 2, afterMs: Math.max(0, delta) + 2, nearMs: 1, nearAfterMs: 1 }
      await expectFound(queryWith(1, within), 'acme', id)
      if (delta !== 0) {
        const short = delta > 0 ? { ...within, afterMs: delta - 1 } : { ...within, beforeMs: -delta - 1 }
        expect((await queryWith(1, short)('acme', id)).events).toEqual([])
      }
    }
  })

  it('finds the rest by scanning the tail before the indexer reaches them, then through the index; the index holds only them', async () => {
    for (const id of Object.values(supplied)) {
      expect((await noTailScan('acme', id)).events).toEqual([]) // neither by time nor indexed yet
      await expectFound(fullScan, 'acme', id)
    }
    const indexer = await fixture().app.startIdIndexer()
    try {
      const index = await openEventIdIndex(fixture().nc)
      const jsm = await jetstreamManager(fixture().nc)
      const last = (await jsm.streams.info('ALLSOURCE_EVENTS')).state.last_seq
      await expect.poll(() => index.checkpoint(), { timeout: 30_000 }).toBe(last)
      for (const id of Object.values(supplied)) await expectFound(noTailScan, 'acme', id)
      await expectFound(noTailScan, 'other', supplied.shared)
      await expectFound(noTailScan, 'other', 'only-other')
      expect((await noTailScan('acme', 'only-other')).events).toEqual([])
      // One key per id that time cannot find (by the store time of its commit), none for the thousands of minted ones.
      const kv = await new Kvm(fixture().nc).open(ID_INDEX_BUCKET)
      const keys: string[] = []
      for await (const k of await kv.keys()) keys.push(k)
      const b64 = (id: string) => Buffer.from(id).toString('base64url')
      const expected = ['_checkpoint']
      for (const [key, w] of written) {
        const id = key.slice(w.tenant.length + 1)
        const m = await jsm.direct.getMessage('ALLSOURCE_EVENTS', { seq: w.offset })
        if (!findableByTime(id, m?.time.getTime() ?? 0)) expected.push(`${w.tenant}.${b64(id)}`)
      }
      expect(keys.sort()).toEqual([...new Set(expected)].sort())
      for (const id of Object.values(supplied)) expect(keys).toContain(`acme.${b64(id)}`)
      expect(keys.length).toBeLessThan(written.size / 10)
    } finally {
      await indexer.stop()
    }
  })

  it('answers empty for ids that were never written, UUIDv7 or not', async () => {
    const extremes = ['00000000-0000-7000-8000-000000000000', 'ffffffff-ffff-7fff-bfff-ffffffffffff', v7At(Date.UTC(9999, 11, 31, 23, 59, 59, 0))]
    for (const id of [uuidv7(), v7At(Date.now() - 500), 'nope', 'order-18', ...extremes]) {
      expect((await fullScan('acme', id)).events).toEqual([])
    }
  })

  it('serves GET /v1/tenants/{tenant}/events/{id} the same way, per tenant', async () => {
    const gateway = await startGateway({ nc: fixture().nc, app: fixture().app, prefix: 'allsource', port: 0, host: '127.0.0.1', log: () => undefined })
    try {
      const id = burst[1] as string
      const one = await call(gateway.url, 'GET', `/v1/tenants/acme/events/${encodeURIComponent(id)}`)
      expect(one.status).toBe(200)
      expect(one.body).toMatchObject({ id, tenant: 'acme', offset: written.get(`acme/${id}`)?.offset })
      const supplied1 = await call(gateway.url, 'GET', `/v1/tenants/other/events/only-other`)
      expect(supplied1.body).toMatchObject({ id: 'only-other', tenant: 'other' })
      expect((await call(gateway.url, 'GET', `/v1/tenants/acme/events/only-other`)).status).toBe(404)
      expect((await call(gateway.url, 'GET', `/v1/tenants/other/events/${encodeURIComponent(id)}`)).status).toBe(404)
    } finally {
      await gateway.close()
    }
  })
})

describe('upgrading from the per-event index', () => {
  it('leaves ALLSOURCE_EVENT_IDS in place and says once at start that it can be deleted', async () => {
    const server = await startNatsServer()
    const nc = await connect({ servers: server.url })
    const said: string[] = []
    try {
      await new Kvm(nc).create(LEGACY_ID_INDEX_BUCKET, { history: 1 })
      const app = await createAllSource({ nc, info: (m) => said.push(m), warn: () => undefined })
      const indexer = await app.startIdIndexer()
      await indexer.stop()
      await app.close()
      expect(said.filter((m) => m.includes(LEGACY_ID_INDEX_BUCKET))).toEqual([expect.stringContaining(`nats kv del ${LEGACY_ID_INDEX_BUCKET}`)])
      expect(await legacyIndexPresent(nc)).toBe(true)
    } finally {
      await nc.close()
      await server.stop()
    }
  })
})
