import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogConsumers } from '../../../src/adapters/nats/reading/logConsumer.js'
import { createKvTenantStore } from '../../../src/adapters/nats/tenants/kvTenantStore.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant } from '../../../src/domain/tenants/tenant.js'
import { withNatsServer } from '../../support/natsServer.js'
import { tenantStoreContract } from '../../support/tenantStoreContract.js'

describe('JetStream KV tenant store', () => {
  const server = withNatsServer()
  let nc: NatsConnection
  let n = 0

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
  })
  afterAll(async () => {
    await nc?.close()
  })

  tenantStoreContract('JetStream KV', async () => {
    const bucket = `ALLSOURCE_TENANTS_contract_${++n}`
    const store = await createKvTenantStore(nc, { bucket })
    const kv = await new Kvm(nc).open(bucket)
    return {
      store,
      putRaw: async (key, bytes) => {
        await kv.put(key, bytes)
      },
    }
  })

  it('creates its bucket with history 1, and a listing leaves no consumer behind', async () => {
    const consumers = createLogConsumers(nc, { max: 1 })
    const store = await createKvTenantStore(nc, { consumers })
    const at = '2026-12-04T13:00:00.000Z' as IsoTimestamp
    for (const t of ['b', 'a', 'c']) expect(E.isRight(await store.create(newTenant(t as TenantId, at))())).toBe(true)
    const jsm = await jetstreamManager(nc)
    expect((await jsm.streams.info('KV_ALLSOURCE_TENANTS')).config.max_msgs_per_subject).toBe(1)
    // More listings than the budget has slots: each frees its slot and deletes its consumer.
    for (let i = 0; i < 5; i++) {
      const page = await store.list({ limit: 2 })()
      expect(E.isRight(page) && page.right.tenants.map((s) => s.record.tenant)).toEqual(['a', 'b'])
    }
    // A listing frees its slot once its consumer's delete is answered, just after the listing returns.
    await expect.poll(() => consumers.inUse, { timeout: 5_000 }).toBe(0)
    // Deletes are sent when each listing ends; wait for them to land (the leak this catches lasts 5 minutes).
    await expect.poll(async () => (await jsm.streams.info('KV_ALLSOURCE_TENANTS')).state.consumer_count, { timeout: 20_000 }).toBe(0)
  })

  it('answers TenantStoreUnavailable, not a throw, when the connection is closed', async () => {
    const nc2 = await connect({ servers: server().url })
    const store = await createKvTenantStore(nc2, { bucket: 'ALLSOURCE_TENANTS_closed' })
    await nc2.close()
    const at = '2026-12-04T13:00:00.000Z' as IsoTimestamp
    for (const r of [
      await store.get('a' as TenantId)(),
      await store.create(newTenant('a' as TenantId, at))(),
      await store.update(newTenant('a' as TenantId, at), 1)(),
      await store.list({ limit: 1 })(),
    ]) {
      expect(E.isLeft(r) && r.left._tag).toBe('TenantStoreUnavailable')
    }
  })
})
