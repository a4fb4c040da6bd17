import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKvPolicyStore } from '../../../src/adapters/nats/policies/kvPolicyStore.js'
import { startPolicyCache } from '../../../src/application/policies/index.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { withNatsServer } from '../../support/natsServer.js'
import { policyStoreContract } from '../../support/policyStoreContract.js'

describe('JetStream KV policy store', () => {
  const server = withNatsServer()
  let nc: NatsConnection
  let n = 0

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
  })
  afterAll(async () => {
    await nc?.close()
  })

  policyStoreContract('JetStream KV', async () => {
    const bucket = `ALLSOURCE_POLICIES_contract_${++n}`
    const store = await createKvPolicyStore(nc, { bucket })
    const kv = await new Kvm(nc).open(bucket)
    return {
      store,
      putRaw: async (key, bytes) => {
        await kv.put(key, bytes)
      },
    }
  })

  it('creates ALLSOURCE_POLICIES with history 1; a second process sees the first one’s writes through its cache', async () => {
    const store = await createKvPolicyStore(nc)
    const jsm = await jetstreamManager(nc)
    expect((await jsm.streams.info('KV_ALLSOURCE_POLICIES')).config.max_msgs_per_subject).toBe(1)
    expect(E.isRight(await store.put('acme' as TenantId, [{ id: 'a', effect: 'deny', match: {} }], 0)())).toBe(true)
    // Another connection and store instance: the cache must load what is stored, not only what it wrote.
    const nc2 = await connect({ servers: server().url })
    try {
      const cache = await startPolicyCache(await createKvPolicyStore(nc2))()
      expect(E.isRight(cache) && E.isRight(cache.right.policiesOf('acme' as TenantId)) && cache.right.policiesOf('acme' as TenantId)).toMatchObject({
        right: { rules: [{ rule: { id: 'a' } }] },
      })
      if (E.isRight(cache)) cache.right.stop()
    } finally {
      await nc2.close()
    }
  })

  it('answers PolicyStoreUnavailable, not a throw, when the connection is closed', async () => {
    const nc2 = await connect({ servers: server().url })
    const store = await createKvPolicyStore(nc2, { bucket: 'ALLSOURCE_POLICIES_closed' })
    await nc2.close()
    for (const r of [await store.get('a' as TenantId)(), await store.put('a' as TenantId, [], 0)(), await store.watch(() => undefined)()]) {
      expect(E.isLeft(r) && r.left._tag).toBe('PolicyStoreUnavailable')
    }
  })
})
