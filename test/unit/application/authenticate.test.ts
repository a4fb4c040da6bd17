import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createHmacApiKeyHasher } from '../../../src/adapters/crypto/hmacApiKeyHasher.js'
import { createInMemoryApiKeyStore } from '../../../src/adapters/memory/inMemoryApiKeyStore.js'
import { createInMemoryTenantStore, type InMemoryTenantStore } from '../../../src/adapters/memory/inMemoryTenantStore.js'
import { createKey, revokeKey } from '../../../src/application/auth/apiKeys.js'
import { authenticate, type AuthenticateDeps, type OperatorKey } from '../../../src/application/auth/authenticate.js'
import type { TenantStore } from '../../../src/application/tenants/ports.js'
import { type ApiKeyId, type CreateKeyRequest, formatApiKey } from '../../../src/domain/security/apiKey.js'
import type { TenantRole } from '../../../src/domain/security/roles.js'
import { secret } from '../../../src/domain/security/secret.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant, softDelete, suspend } from '../../../src/domain/tenants/tenant.js'

const PEPPER = 'pepper-for-tests-0123456789abcdef-0123456789'
const acme = 'acme' as TenantId
const globex = 'globex' as TenantId
const t0 = new Date('2026-12-04T13:00:00.000Z')
const iso = (d: Date) => d.toISOString() as IsoTimestamp
const HOUR = 3_600_000
const unauthorized = E.left({ _tag: 'Unauthorized', message: 'missing or invalid credentials' })

interface Fixture {
  readonly deps: AuthenticateDeps
  readonly tenants: InMemoryTenantStore
  /** The operator key as its holder presents it. */
  readonly operatorKey: string
  readonly operator: OperatorKey
  keyFor(tenant: TenantId, role: TenantRole, request?: Partial<CreateKeyRequest>): Promise<{ readonly keyId: ApiKeyId; readonly key: string }>
}

const right = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected Right, got ${JSON.stringify(r.left)}`)
  return r.right
}

const fixture = async (tenantStore?: TenantStore): Promise<Fixture> => {
  const hasher = createHmacApiKeyHasher({ pepper: PEPPER })
  const store = createInMemoryApiKeyStore()
  const tenants = createInMemoryTenantStore()
  right(await tenants.create(newTenant(acme, iso(t0)))())
  right(await tenants.create(newTenant(globex, iso(t0)))())
  const op = hasher.generate()
  const operator: OperatorKey = { keyId: op.keyId, hash: hasher.hash(op.keyId, op.secret) }
  const keyDeps = { store, hasher, clock: { now: () => t0 } }
  return {
    deps: { ...keyDeps, tenants: tenantStore ?? tenants, operator },
    tenants,
    operatorKey: formatApiKey(op.keyId, op.secret).reveal(),
    operator,
    keyFor: async (tenant, role, request = {}) => {
      const created = right(await createKey(keyDeps)(tenant, { role, ...request } as CreateKeyRequest))
      return { keyId: created.keyId, key: created.key.reveal() }
    },
  }
}

const change = async (tenants: InMemoryTenantStore, tenant: TenantId, how: typeof suspend): Promise<void> => {
  const stored = right(await tenants.get(tenant)())
  if (stored === undefined) throw new Error(`no tenant ${tenant}`)
  right(await tenants.update(right(how(stored.record)), stored.revision)())
}

/** A tenant registry that never answers. */
const unavailableTenants = (): TenantStore => {
  const down = TE.left({ _tag: 'TenantStoreUnavailable', message: 'connection closed' } as const)
  return { get: () => down, create: () => down, update: () => down, list: () => down }
}

describe('authenticate', () => {
  it('the operator key is the operator, named by its keyId', async () => {
    const f = await fixture()
    expect(await authenticate(f.deps)(f.operatorKey, t0)).toEqual(E.right({ identity: { role: 'operator' }, principal: f.operator.keyId }))
  })

  it("the operator's keyId with another secret is Unauthorized, not a tenant lookup", async () => {
    const f = await fixture()
    const forged = formatApiKey(f.operator.keyId, secret('x'.repeat(43))).reveal()
    expect(await authenticate(f.deps)(forged, t0)).toEqual(unauthorized)
  })

  it('without an operator key configured, the operator key is nobody', async () => {
    const f = await fixture()
    const { operator: _ignored, ...withoutOperator } = f.deps
    expect(await authenticate(withoutOperator)(f.operatorKey, t0)).toEqual(unauthorized)
  })

  it('a tenant key is its tenant and role, named by its keyId', async () => {
    const f = await fixture()
    for (const role of ['reader', 'service', 'developer', 'admin'] as const) {
      const a = await f.keyFor(acme, role)
      expect(await authenticate(f.deps)(a.key, t0)).toEqual(E.right({ identity: { tenant: acme, role }, principal: a.keyId }))
    }
    const g = await f.keyFor(globex, 'reader')
    expect(await authenticate(f.deps)(g.key, t0)).toEqual(E.right({ identity: { tenant: globex, role: 'reader' }, principal: g.keyId }))
  })

  it('a key of an unknown or deleted tenant is TenantNotFound', async () => {
    const f = await fixture()
    const ghost = await f.keyFor('initech' as TenantId, 'admin')
    expect(await authenticate(f.deps)(ghost.key, t0)).toEqual(E.left({ _tag: 'TenantNotFound', tenant: 'initech' }))
    const a = await f.keyFor(acme, 'admin')
    await change(f.tenants, acme, softDelete)
    expect(await authenticate(f.deps)(a.key, t0)).toEqual(E.left({ _tag: 'TenantNotFound', tenant: 'acme' }))
  })

  it('a key of a suspended tenant is TenantSuspended; reactivated, it works again', async () => {
    const f = await fixture()
    const a = await f.keyFor(acme, 'service')
    await change(f.tenants, acme, suspend)
    expect(await authenticate(f.deps)(a.key, t0)).toEqual(E.left({ _tag: 'TenantSuspended', tenant: 'acme' }))
    const { activate } = await import('../../../src/domain/tenants/tenant.js')
    await change(f.tenants, acme, activate)
    expect(E.isRight(await authenticate(f.deps)(a.key, t0))).toBe(true)
  })

  it('the tenant check comes after the key check: a bad key of a suspended tenant is still Unauthorized', async () => {
    const f = await fixture()
    const a = await f.keyFor(acme, 'service')
    await change(f.tenants, acme, suspend)
    expect(await authenticate(f.deps)(a.key.slice(0, -1) + (a.key.endsWith('a') ? 'b' : 'a'), t0)).toEqual(unauthorized)
  })

  it('revoked, expired, tampered and garbage credentials are the same Unauthorized', async () => {
    const f = await fixture()
    const revoked = await f.keyFor(acme, 'admin')
    right(await revokeKey({ ...f.deps, clock: { now: () => t0 } })(acme, revoked.keyId))
    expect(await authenticate(f.deps)(revoked.key, t0)).toEqual(unauthorized)

    const expiring = await f.keyFor(acme, 'reader', { expiresAt: iso(new Date(t0.getTime() + HOUR)) })
    expect(E.isRight(await authenticate(f.deps)(expiring.key, t0))).toBe(true)
    expect(await authenticate(f.deps)(expiring.key, new Date(t0.getTime() + 2 * HOUR))).toEqual(unauthorized)

    const good = await f.keyFor(acme, 'reader')
    const forged = formatApiKey(good.keyId, secret('y'.repeat(43))).reveal()
    for (const bad of [forged, good.key.slice(0, -1), `${good.key}x`, good.key.toUpperCase(), '', 'hunter2', `Bearer ${good.key}`]) {
      expect(await authenticate(f.deps)(bad, t0)).toEqual(unauthorized)
    }
    for (const notAString of [undefined, null, 0, 42n, true, {}, [], { token: good.key }, [good.key], Symbol('k'), () => good.key]) {
      expect(await authenticate(f.deps)(notAString, t0)).toEqual(unauthorized)
    }
  })

  it('a tenant registry that does not answer is Unavailable, never a grant', async () => {
    const f = await fixture()
    const a = await f.keyFor(acme, 'admin')
    const down = { ...f.deps, tenants: unavailableTenants() }
    expect(await authenticate(down)(a.key, t0)).toEqual(E.left(expect.objectContaining({ _tag: 'Unavailable' })))
    // The operator does not depend on the registry; a bad key is still Unauthorized, not Unavailable.
    expect(E.isRight(await authenticate(down)(f.operatorKey, t0))).toBe(true)
    expect(await authenticate(down)('garbage', t0)).toEqual(unauthorized)
  })

  it('a corrupt tenant record refuses the key (no grant)', async () => {
    const f = await fixture()
    const a = await f.keyFor(acme, 'admin')
    f.tenants.putRaw('acme', new TextEncoder().encode('{not json'))
    const r = await authenticate(f.deps)(a.key, t0)
    expect(r).toEqual(unauthorized)
  })

  it('never throws and never grants for arbitrary values, or for mutations of real keys', async () => {
    const f = await fixture()
    const a = await f.keyFor(acme, 'admin')
    const keys = [a.key, f.operatorKey]
    const mutated = fc
      .tuple(fc.constantFrom(...keys), fc.nat(65), fc.string({ minLength: 0, maxLength: 3 }))
      .map(([k, i, s]) => k.slice(0, i) + s + k.slice(i + 1))
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything({ withBigInt: true, withMap: true, withSet: true }), fc.string({ maxLength: 100 }), mutated), async (u) => {
        fc.pre(!keys.includes(u as string))
        const r = await authenticate(f.deps)(u, t0)
        expect(r).toEqual(unauthorized)
      }),
      { numRuns: 500 },
    )
  })
})
