import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKvRefreshTokenStore, createKvSigningKeyStore, createKvUserStore } from '../../../src/adapters/nats/auth/kvAuthStores.js'
import { createLogConsumers } from '../../../src/adapters/nats/reading/logConsumer.js'
import type { UserRecord, Username } from '../../../src/domain/security/user.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import type { IsoTimestamp } from '../../../src/domain/tenants/tenant.js'
import { authStoreContract } from '../../support/authStoreContract.js'
import { withNatsServer } from '../../support/natsServer.js'

describe('JetStream KV auth stores', () => {
  const server = withNatsServer()
  let nc: NatsConnection
  let n = 0

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
  })
  afterAll(async () => {
    await nc?.close()
  })

  authStoreContract('JetStream KV', async () => {
    const i = ++n
    const users = await createKvUserStore(nc, { bucket: `USERS_contract_${i}` })
    const kv = await new Kvm(nc).open(`USERS_contract_${i}`)
    return {
      users,
      refreshTokens: await createKvRefreshTokenStore(nc, { bucket: `REFRESH_contract_${i}` }),
      signingKeys: await createKvSigningKeyStore(nc, { bucket: `SIGNING_contract_${i}` }),
      putRawUser: async (key, bytes) => {
        await kv.put(key, bytes)
      },
    }
  })

  it('creates the default buckets (history 1; refresh tokens age out after 31 days), and a listing leaves no consumer behind', async () => {
    const consumers = createLogConsumers(nc, { max: 1 })
    const users = await createKvUserStore(nc, { consumers })
    await createKvRefreshTokenStore(nc)
    await createKvSigningKeyStore(nc)
    const jsm = await jetstreamManager(nc)
    expect((await jsm.streams.info('KV_ALLSOURCE_USERS')).config.max_msgs_per_subject).toBe(1)
    expect((await jsm.streams.info('KV_ALLSOURCE_SIGNING_KEYS')).config.max_msgs_per_subject).toBe(1)
    expect((await jsm.streams.info('KV_ALLSOURCE_REFRESH_TOKENS')).config.max_age).toBe(31 * 86_400 * 1e9)
    const rec: UserRecord = { tenant: 'acme' as TenantId, username: 'alice' as Username, role: 'admin', createdAt: '2026-12-04T13:00:00.000Z' as IsoTimestamp }
    expect(E.isRight(await users.create(rec)())).toBe(true)
    for (let i = 0; i < 3; i++) {
      const listed = await users.list('acme' as TenantId)()
      expect(E.isRight(listed) && listed.right.users.map((u) => u.record.username)).toEqual(['alice'])
    }
    await expect.poll(() => consumers.inUse, { timeout: 5_000 }).toBe(0)
    await expect.poll(async () => (await jsm.streams.info('KV_ALLSOURCE_USERS')).state.consumer_count, { timeout: 20_000 }).toBe(0)
  })

  it('answers StoreUnavailable, not a throw, when the connection is closed', async () => {
    const nc2 = await connect({ servers: server().url })
    const users = await createKvUserStore(nc2, { bucket: 'USERS_closed' })
    const keys = await createKvSigningKeyStore(nc2, { bucket: 'SIGNING_closed' })
    await nc2.close()
    for (const r of [await users.get('acme' as TenantId, 'a' as Username)(), await users.list('acme' as TenantId)(), await keys.load()()]) {
      expect(E.isLeft(r) && r.left._tag).toBe('StoreUnavailable')
    }
  })
})
