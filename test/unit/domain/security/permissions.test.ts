import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { authorize, may } from '../../../../src/domain/security/permissions.js'
import { Identity, Operation, Role, operations, roles } from '../../../../src/domain/security/roles.js'
import type { TenantId } from '../../../../src/domain/streams/ids.js'

// The whole matrix, written out: changing the permission table must change this test.
const MATRIX = `
                      reader  service  developer  admin  operator
append                  .        x         x        x       x
ingest                  .        x         x        x       x
read                    x        x         x        x       x
query                   x        x         x        x       x
subscribe               x        .         x        x       x
manageProjections       .        .         x        x       x
manageSubscriptions     .        .         x        x       x
manageUsersAndKeys      .        .         .        x       x
managePolicies          .        .         .        x       x
readStats               .        .         .        x       x
readAudit               .        .         .        x       x
manageTenants           .        .         .        .       x
`
const [header, ...rows] = MATRIX.trim().split('\n').map((l) => l.trim().split(/\s+/))
const matrixRoles = header as Role[]
const expected = rows.flatMap(([op, ...cells]) => cells.map((c, i) => [matrixRoles[i], op, c === 'x'] as [Role, Operation, boolean]))

const acme = 'acme' as TenantId
const globex = 'globex' as TenantId

describe('the permission table', () => {
  it('the matrix names every role and every operation exactly once', () => {
    expect([...matrixRoles].sort()).toEqual([...roles].sort())
    expect(rows.map((r) => r[0]).sort()).toEqual([...operations].sort())
    expect(Object.keys(Role.keys).sort()).toEqual([...roles].sort())
    expect(expected).toHaveLength(roles.length * operations.length)
  })

  it.each(expected)('%s may %s: %s', (role, operation, allowed) => {
    expect(may(role, operation)).toBe(allowed)
    if (role === 'operator') {
      expect(E.isRight(authorize({ role }, operation, acme))).toBe(allowed)
    } else {
      const r = authorize({ role, tenant: acme }, operation, acme)
      expect(r).toEqual(allowed ? E.right({ role, tenant: acme }) : E.left(expect.objectContaining({ _tag: 'Forbidden', reason: 'role', operation })))
    }
  })
})

describe('authorize across tenants', () => {
  it('refuses a tenant identity on another tenant whatever its role and the operation', () => {
    for (const role of ['admin', 'developer', 'reader', 'service'] as const) {
      for (const operation of operations) {
        const r = authorize({ role, tenant: acme }, operation, globex)
        expect(r).toEqual(E.left(expect.objectContaining({ _tag: 'Forbidden', reason: 'tenant', operation })))
      }
    }
  })

  it('refuses a tenant identity a platform-wide request (no tenant), even an admin', () => {
    expect(authorize({ role: 'admin', tenant: acme }, 'manageTenants')).toEqual(E.left(expect.objectContaining({ reason: 'tenant' })))
    expect(authorize({ role: 'admin', tenant: acme }, 'read')).toEqual(E.left(expect.objectContaining({ reason: 'tenant' })))
  })

  it('lets the operator act on any tenant and on the platform', () => {
    expect(authorize({ role: 'operator' }, 'manageTenants')).toEqual(E.right({ role: 'operator' }))
    expect(authorize({ role: 'operator' }, 'append', globex)).toEqual(E.right({ role: 'operator' }))
  })

  it('property: a tenant identity is allowed only on its own tenant, and exactly when may() says so', () => {
    const tenantArb = fc.constantFrom('acme', 'globex', 'a', 'A', 'acme-2') as fc.Arbitrary<TenantId>
    fc.assert(
      fc.property(
        fc.constantFrom('admin', 'developer', 'reader', 'service' as const),
        fc.constantFrom(...operations),
        tenantArb,
        tenantArb,
        (role, operation, own, target) => {
          const allowed = E.isRight(authorize({ role, tenant: own }, operation, target))
          expect(allowed).toBe(own === target && may(role, operation))
        },
      ),
    )
  })
})

describe('role and identity codecs', () => {
  it('decode the closed unions and nothing else', () => {
    expect(E.isRight(Role.decode('operator'))).toBe(true)
    for (const bad of ['Admin', 'root', '', ' admin', null, 1, ['admin']]) expect(E.isLeft(Role.decode(bad))).toBe(true)
    for (const bad of ['delete', 'appendAll', 'APPEND', undefined]) expect(E.isLeft(Operation.decode(bad))).toBe(true)
  })

  it('an identity is an operator without a tenant or a tenant role with a valid tenant id', () => {
    expect(Identity.decode({ role: 'operator' })).toEqual(E.right({ role: 'operator' }))
    expect(Identity.decode({ role: 'reader', tenant: 'acme' })).toEqual(E.right({ role: 'reader', tenant: 'acme' }))
    for (const bad of [
      { role: 'reader' },
      { role: 'reader', tenant: 'a.b' },
      { role: 'reader', tenant: '>' },
      { role: 'reader', tenant: '' },
      { role: 'root', tenant: 'acme' },
      { tenant: 'acme' },
      'operator',
      null,
    ]) {
      expect(E.isLeft(Identity.decode(bad))).toBe(true)
    }
  })

  it('property: no string outside the role names decodes as a role', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(E.isRight(Role.decode(s))).toBe((roles as readonly string[]).includes(s))
      }),
    )
  })
})
