import { jetstreamManager } from '@nats-io/jetstream'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AUDIT_STREAM, DAY_MS, defaultAuditStreamOptions, ensureAuditStream } from '../../../src/adapters/nats/audit/auditStream.js'
import { createJetStreamAuditLog } from '../../../src/adapters/nats/audit/jetStreamAuditLog.js'
import { createLogConsumers } from '../../../src/adapters/nats/reading/logConsumer.js'
import { subjects } from '../../../src/adapters/nats/subjects.js'
import { withNatsServer } from '../../support/natsServer.js'
import { auditLogContract } from '../../support/auditLogContract.js'

describe('JetStream audit log', () => {
  const server = withNatsServer()
  let nc: NatsConnection
  let n = 0

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
  })
  afterAll(async () => {
    await nc?.close()
  })

  auditLogContract('JetStream', async (options) => {
    // Streams may not share subjects: each log gets its own prefix and stream.
    const names = { ...defaultAuditStreamOptions, stream: `${AUDIT_STREAM}_${++n}`, prefix: `audit${n}` }
    const log = await createJetStreamAuditLog(nc, { ...names, ...options })
    const jsm = await jetstreamManager(nc)
    const js = jsm.jetstream()
    return {
      log,
      outage: async () => {
        await jsm.streams.delete(names.stream)
      },
      restore: () => ensureAuditStream(jsm, names),
      putRaw: async (json, tenant, action = 'key.create') => {
        const h = headers()
        h.set('Content-Type', 'application/json')
        await js.publish(subjects(names.prefix).audit(tenant, action), new TextEncoder().encode(json), { headers: h })
      },
      rawStored: async () => {
        const last = (await jsm.streams.info(names.stream)).state.last_seq
        const out: string[] = []
        for (let seq = 1; seq <= last; seq++) {
          const m = await jsm.streams.getMessage(names.stream, { seq })
          if (m !== null) out.push(`${m.subject} ${new TextDecoder().decode(m.data)}`)
        }
        return out
      },
    }
  })

  it('creates ALLSOURCE_AUDIT as file storage with 90-day retention, no deletes or purges, and adopts a changed retention', async () => {
    const log = await createJetStreamAuditLog(nc)
    const jsm = await jetstreamManager(nc)
    const info = await jsm.streams.info(AUDIT_STREAM)
    expect(info.config).toMatchObject({
      subjects: ['allsource.audit.>'],
      storage: 'file',
      retention: 'limits',
      discard: 'old',
      max_age: 90 * DAY_MS * 1_000_000,
      deny_delete: true,
      deny_purge: true,
      num_replicas: 1,
    })
    expect(log.record({ who: { kind: 'operator' }, action: 'tenant.create', tenant: 'acme', outcome: 'succeeded' }).accepted).toBe(true)
    expect(await log.flush()).toBe(true)
    const m = await jsm.streams.getMessage(AUDIT_STREAM, { seq: 1 })
    expect(m?.subject).toBe('allsource.audit.tenant.acme.tenant.create')
    await log.close()
    await createJetStreamAuditLog(nc, { maxAgeMs: 7 * DAY_MS })
    expect((await jsm.streams.info(AUDIT_STREAM)).config.max_age).toBe(7 * DAY_MS * 1_000_000)
  })

  it('deletes its consumer after every query, and answers AuditLogUnavailable when its consumer budget is spent', async () => {
    const consumers = createLogConsumers(nc, { max: 1, waitMs: 50 })
    const stream = `${AUDIT_STREAM}_budget`
    const log = await createJetStreamAuditLog(nc, { stream, prefix: 'auditbudget', consumers })
    for (let i = 0; i < 5; i++) log.record({ who: { kind: 'system', id: 'test' }, action: 'key.create', tenant: 'acme', outcome: 'succeeded' })
    expect(await log.flush()).toBe(true)
    // More queries than the budget has slots: each frees its slot.
    for (let i = 0; i < 4; i++) {
      const page = await log.query({ _tag: 'Tenant', tenant: 'acme' as never }, { limit: 2 })()
      expect(E.isRight(page) && page.right.entries).toHaveLength(2)
    }
    const jsm = await jetstreamManager(nc)
    await expect.poll(() => consumers.inUse, { timeout: 5_000 }).toBe(0)
    await expect.poll(async () => (await jsm.streams.info(stream)).state.consumer_count, { timeout: 20_000 }).toBe(0)
    const held = await consumers.open(stream, {})
    try {
      const busy = await log.query({ _tag: 'All' }, { limit: 1 })()
      expect(E.isLeft(busy) && busy.left).toMatchObject({ _tag: 'AuditLogUnavailable', retryAfterMs: 50 })
    } finally {
      held.close()
    }
  })
})
