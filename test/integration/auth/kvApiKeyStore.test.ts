import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CorruptApiKeyRecord } from '../../../src/adapters/codec/apiKeyJson.js'
import { createKvApiKeyStore, recordKey, tenantIndexKey } from '../../../src/adapters/nats/auth/kvApiKeyStore.js'
import { createLogConsumers } from '../../../src/adapters/nats/reading/logConsumer.js'
import { type ApiKeyId, markUsed } from '../../../src/domain/security/apiKey.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import type { IsoTimestamp } from '../../../src/domain/tenants/tenant.js'
import { apiKeyStoreContract, keyRecord } from '../../support/apiKeyStoreContract.js'
import { withNatsServer } from '../../support/natsServer.js'

describe('JetStream KV API key store', () => {
  const server = withNatsServer()
  let nc: NatsConnection
  let n = 0

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
  })
  afterAll(async () => {
    await nc?.close()
  })

  apiKeyStoreContract('JetStream KV', async () => {
    const bucket = `ALLSOURCE_KEYS_contract_${++n}`
    const reported: string[] = []
    const store = await createKvApiKeyStore(nc, { bucket, onCorrupt: (r) => reported.push(r.key) })
    const kv = await new Kvm(nc).open(bucket)
    return {
      store,
      putRaw: async (keyId, bytes, tenant) => {
        await kv.put(recordKey(keyId), bytes)
        if (tenant !== undefined) await kv.put(tenantIndexKey(tenant, keyId), new Uint8Array(0))
      },
      corruptReported: () => reported,
    }
  })

  it('creates its bucket with history 1; get is one KV get; an unchanged update writes nothing; a listing leaves no consumer behind', async () => {
    const consumers = createLogConsumers(nc, { max: 1 })
    const store = await createKvApiKeyStore(nc, { consumers })
    const jsm = await jetstreamManager(nc)
    expect((await jsm.streams.info('KV_ALLSOURCE_KEYS')).config.max_msgs_per_subject).toBe(1)
    const r = keyRecord('AAAAAAAAAAAA', 'acme')
    expect(await store.insert(r)).toBe(true)
    const kv = await new Kvm(nc).open('ALLSOURCE_KEYS')
    const at = '2026-12-04T13:00:10.000Z' as IsoTimestamp
    const used = await store.update(r.keyId, (cur) => markUsed(cur, at))
    const after = (await kv.get(recordKey(r.keyId)))?.revision
    // Within the throttle: markUsed answers the record itself, and nothing is written.
    expect(await store.update(r.keyId, (cur) => markUsed(cur, '2026-12-04T13:00:20.000Z' as IsoTimestamp))).toEqual(used)
    expect((await kv.get(recordKey(r.keyId)))?.revision).toBe(after)
    // The hot path: a lookup is one request to the server (one KV get), hit or miss.
    for (const keyId of [r.keyId, 'ZZZZZZZZZZZZ' as ApiKeyId]) {
      const sent = nc.stats().outMsgs
      await store.get(keyId)
      expect(nc.stats().outMsgs - sent).toBe(1)
    }
    for (let i = 0; i < 4; i++) expect((await store.listByTenant('acme' as TenantId)).length).toBe(1)
    await expect.poll(() => consumers.inUse, { timeout: 5_000 }).toBe(0)
    await expect.poll(async () => (await jsm.streams.info('KV_ALLSOURCE_KEYS')).state.consumer_count, { timeout: 20_000 }).toBe(0)
  })

  it('reports a corrupt value by key and reason, never with the value', async () => {
    const reports: CorruptApiKeyRecord[] = []
    const store = await createKvApiKeyStore(nc, { bucket: 'ALLSOURCE_KEYS_leak', onCorrupt: (c) => reports.push(c) })
    const kv = await new Kvm(nc).open('ALLSOURCE_KEYS_leak')
    const hash = 'Zq9'.repeat(14) + 'x'
    await kv.put(recordKey('AAAAAAAAAAAA'), new TextEncoder().encode(`{"keyId":"AAAAAAAAAAAA","hash":"${hash}", oops`))
    await kv.put(recordKey('BBBBBBBBBBBB'), new TextEncoder().encode(JSON.stringify({ ...keyRecord('BBBBBBBBBBBB', 'acme'), hash: `${hash}!` })))
    expect(await store.get('AAAAAAAAAAAA' as ApiKeyId)).toBeUndefined()
    expect(await store.get('BBBBBBBBBBBB' as ApiKeyId)).toBeUndefined()
    expect(reports.map((r) => r.key)).toEqual(['id.AAAAAAAAAAAA', 'id.BBBBBBBBBBBB'])
    expect(JSON.stringify(reports)).not.toContain('Zq9Zq9')
  })

  it('rejects, not crashes, when the connection is closed', async () => {
    const nc2 = await connect({ servers: server().url })
    const store = await createKvApiKeyStore(nc2, { bucket: 'ALLSOURCE_KEYS_closed' })
    await nc2.close()
    await expect(store.get('AAAAAAAAAAAA' as ApiKeyId)).rejects.toThrow()
    await expect(store.insert(keyRecord('AAAAAAAAAAAA', 'acme'))).rejects.toThrow()
    await expect(store.listByTenant('acme' as TenantId)).rejects.toThrow()
  })
})
