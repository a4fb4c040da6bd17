import { type NatsConnection, headers } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { createHmacApiKeyHasher } from '../../src/adapters/crypto/hmacApiKeyHasher.js'
import { decodeMsgpack, encodeMsgpack } from '../../src/adapters/codec/msgpack.js'
import { startAdminEndpoints } from '../../src/adapters/nats/admin/adminEndpoints.js'
import { createKvApiKeyStore } from '../../src/adapters/nats/auth/kvApiKeyStore.js'
import type { Endpoint } from '../../src/adapters/nats/service/endpoint.js'
import { createKvTenantStore } from '../../src/adapters/nats/tenants/kvTenantStore.js'
import type { ApiKeyDeps } from '../../src/application/auth/apiKeys.js'
import type { ApiKeyStore } from '../../src/application/auth/ports.js'
import type { Clock } from '../../src/application/streams/ports.js'
import type { TenantStore } from '../../src/application/tenants/ports.js'
import type { ApiKeyRecord } from '../../src/domain/security/apiKey.js'
import type { Tenant } from '../../src/domain/tenants/tenant.js'

export const PEPPER = 'pepper-for-tests-only-0123456789abcdef'

/** A reply as the client sees it: the status header (absent on success) and the decoded body. */
export interface Reply {
  readonly status?: string
  readonly body: unknown
  readonly raw: Uint8Array
}

export interface AdminFixture {
  readonly tenants: TenantStore
  readonly keys: ApiKeyStore
  readonly keyDeps: ApiKeyDeps
  readonly clock: Clock & { set(iso: string): void }
  readonly endpoints: Endpoint[]
  /** Sends `body` (a value encoded as `format`, or raw bytes) and decodes the reply by its Content-Type. */
  call(subject: string, body: unknown, format?: 'json' | 'msgpack' | 'raw', extraHeaders?: readonly (readonly [string, string])[]): Promise<Reply>
  /** Every tenant (deleted ones too) and every key of each, as stored. */
  snapshot(): Promise<{ readonly tenants: readonly Tenant[]; readonly keys: readonly ApiKeyRecord[] }>
  stop(): Promise<void>
}

let n = 0

/** Tenant and key stores in fresh buckets on `nc`, and the admin endpoints over them under `prefix`. */
export const startAdminFixture = async (nc: NatsConnection, prefix = 'allsource'): Promise<AdminFixture> => {
  const id = `${process.pid}_${++n}`
  const tenants = await createKvTenantStore(nc, { bucket: `T_${id}` })
  const keys = await createKvApiKeyStore(nc, { bucket: `K_${id}`, onCorrupt: () => undefined })
  let now = Date.parse('2026-12-04T13:00:00.000Z')
  const clock = { now: () => new Date(now), set: (iso: string) => void (now = Date.parse(iso)) }
  const hasher = createHmacApiKeyHasher({ pepper: PEPPER })
  const endpoints = startAdminEndpoints(nc, { prefix, queue: `q_${id}`, tenants, keys, hasher, clock })
  await nc.flush()
  return {
    tenants,
    keys,
    keyDeps: { store: keys, hasher, clock },
    clock,
    endpoints,
    async call(subject, body, format = 'json', extraHeaders = []) {
      const h = headers()
      if (format === 'json') h.set('Content-Type', 'application/json')
      for (const [k, v] of extraHeaders) h.set(k, v)
      const data = format === 'raw' ? (body as Uint8Array) : format === 'json' ? new TextEncoder().encode(JSON.stringify(body)) : encodeMsgpack(body)
      const m = await nc.request(subject, data, { timeout: 5_000, headers: h })
      const isJson = m.headers?.get('Content-Type') === 'application/json'
      const decoded = m.data.length === 0 ? undefined : isJson ? JSON.parse(new TextDecoder().decode(m.data)) : decodeMsgpack(m.data)
      const status = m.headers?.get('Nats-Service-Error-Code')
      return { ...(status !== undefined && status !== '' ? { status } : {}), body: decoded, raw: m.data }
    },
    async snapshot() {
      const all: Tenant[] = []
      let after: Tenant['tenant'] | undefined
      for (;;) {
        const page = await tenants.list({ limit: 1000, includeDeleted: true, ...(after !== undefined ? { after } : {}) })()
        if (E.isLeft(page)) throw new Error(`snapshot: ${page.left._tag}`)
        all.push(...page.right.tenants.map((s) => s.record))
        if (page.right.next === undefined) break
        after = page.right.next
      }
      const keyRecords = (await Promise.all(all.map((t) => keys.listByTenant(t.tenant)))).flat()
      return { tenants: all, keys: keyRecords }
    },
    async stop() {
      await Promise.all(endpoints.map((e) => e.stop()))
    },
  }
}
