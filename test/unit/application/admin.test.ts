import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { createHmacApiKeyHasher } from '../../../src/adapters/crypto/hmacApiKeyHasher.js'
import { createInMemoryApiKeyStore } from '../../../src/adapters/memory/inMemoryApiKeyStore.js'
import { createInMemoryTenantStore } from '../../../src/adapters/memory/inMemoryTenantStore.js'
import { runKeyCommand } from '../../../src/application/admin/keyAdmin.js'
import { runTenantCommand } from '../../../src/application/admin/tenantAdmin.js'
import { validateKeyCommand } from '../../../src/domain/security/keyRequests.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { validateTenantCommand } from '../../../src/domain/tenants/tenantRequests.js'

const deps = () => {
  const tenants = createInMemoryTenantStore()
  const clock = { now: () => new Date('2026-12-04T13:00:00.000Z') }
  return { tenants, clock, store: createInMemoryApiKeyStore(), hasher: createHmacApiKeyHasher({ pepper: 'x'.repeat(32) }) }
}
const cmd = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return r.right
}
const tag = (r: E.Either<{ _tag: string }, unknown>) => (E.isLeft(r) ? r.left._tag : 'ok')

describe('admin use cases', () => {
  it('validate bodies: closed, typed, with the field named', () => {
    expect(validateTenantCommand('create', { tenant: 'acme', tier: 'pro' })).toEqual(E.right({ _tag: 'Create', tenant: 'acme', tier: 'pro' }))
    expect(validateTenantCommand('list', undefined)).toEqual(E.right({ _tag: 'List', limit: 100, includeDeleted: false }))
    expect(validateTenantCommand('create', { tenant: 'projection' })).toMatchObject(E.left({ _tag: 'InvalidId', field: 'tenant' }))
    expect(validateTenantCommand('update', { tenant: 'a', name: 'x' })).toMatchObject(E.left({ _tag: 'BadRequest', details: { field: 'name' } }))
    expect(validateTenantCommand('get', 'acme')).toMatchObject(E.left({ _tag: 'BadRequest' }))
    expect(validateKeyCommand('create', { role: 'reader', name: 'ci' })).toEqual(E.right({ _tag: 'Create', role: 'reader', name: 'ci' }))
    expect(validateKeyCommand('revoke', { keyId: 'short' })).toMatchObject(E.left({ _tag: 'InvalidId', field: 'keyId' }))
    expect(validateKeyCommand('list', { x: 1 })).toMatchObject(E.left({ _tag: 'BadRequest' }))
  })

  it('a caller identity, when given, is authorized: tenants are the operator’s, keys the tenant admin’s', async () => {
    const d = deps()
    const tenantCmd = runTenantCommand(d)
    const keyCmd = runKeyCommand(d)
    const create = cmd(validateTenantCommand('create', { tenant: 'acme' }))
    expect(tag(await tenantCmd(create, { tenant: 'acme' as TenantId, role: 'admin' }))).toBe('Forbidden')
    expect(tag(await tenantCmd(create, { role: 'operator' }))).toBe('ok')
    expect(tag(await tenantCmd(create))).toBe('BadRequest') // exists; no caller, no check
    const newKey = cmd(validateKeyCommand('create', { role: 'reader' }))
    const acme = 'acme' as TenantId
    expect(tag(await keyCmd(acme, newKey, { tenant: 'globex' as TenantId, role: 'admin' }))).toBe('Forbidden')
    expect(tag(await keyCmd(acme, newKey, { tenant: acme, role: 'developer' }))).toBe('Forbidden')
    expect(tag(await keyCmd(acme, newKey, { tenant: acme, role: 'admin' }))).toBe('ok')
    expect(tag(await keyCmd(acme, newKey, { role: 'operator' }))).toBe('ok')
    expect((await d.store.listByTenant(acme)).length).toBe(2)
  })
})
