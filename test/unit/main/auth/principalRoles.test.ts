import { describe, expect, it } from 'vitest'
import { createInMemoryApiKeyStore } from '../../../../src/adapters/memory/inMemoryApiKeyStore.js'
import { createInMemoryUserStore } from '../../../../src/adapters/memory/inMemoryAuthStores.js'
import type { UserRecord } from '../../../../src/domain/security/user.js'
import { principalRoles } from '../../../../src/main/auth/policyPlane.js'

const user = (username: string, role: string, deletedAt?: string) =>
  ({ tenant: 'acme', username, role, createdAt: '2025-01-01T00:00:00.000Z', ...(deletedAt !== undefined ? { deletedAt } : {}) }) as unknown as UserRecord

describe('principalRoles', () => {
  it("reads a user principal's role from the user store, and answers undefined (fail closed) for a deleted, unknown or foreign user", async () => {
    const users = createInMemoryUserStore()
    await users.create(user('ann.lee', 'service'))()
    await users.create(user('gone', 'developer', '2025-02-01T00:00:00.000Z'))()
    const roleOf = principalRoles(createInMemoryApiKeyStore(), users)
    expect(await roleOf('acme', 'u_ann~lee')).toBe('service')
    expect(await roleOf('acme', 'u_gone')).toBeUndefined()
    expect(await roleOf('acme', 'u_nobody')).toBeUndefined()
    expect(await roleOf('globex', 'u_ann~lee')).toBeUndefined()
    expect(await roleOf('acme', '_op')).toBe('operator')
    expect(await roleOf('acme', 'u_ann.lee')).toBeUndefined()
    // Without a user store, users are unknown.
    expect(await principalRoles(createInMemoryApiKeyStore())('acme', 'u_ann~lee')).toBeUndefined()
  })

  it('caches a role per process until forgotten', async () => {
    const users = createInMemoryUserStore()
    const stored = await users.create(user('ann.lee', 'service'))()
    const roleOf = principalRoles(createInMemoryApiKeyStore(), users)
    expect(await roleOf('acme', 'u_ann~lee')).toBe('service')
    if (stored._tag === 'Right') await users.update({ ...stored.right.record, deletedAt: '2025-02-01T00:00:00.000Z' } as UserRecord, stored.right.revision)()
    expect(await roleOf('acme', 'u_ann~lee')).toBe('service')
    roleOf.forget('acme', 'u_ann~lee')
    expect(await roleOf('acme', 'u_ann~lee')).toBeUndefined()
  })
})
