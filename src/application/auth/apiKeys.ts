import * as E from 'fp-ts/lib/Either.js'
import {
  type ApiKeyId,
  type ApiKeyView,
  type CreateKeyRequest,
  type KeyHash,
  formatApiKey,
  isUsable,
  markUsed,
  newApiKeyRecord,
  parseApiKey,
  revoke,
  viewOf,
} from '../../domain/security/apiKey.js'
import type { TenantIdentity } from '../../domain/security/roles.js'
import type { Secret } from '../../domain/security/secret.js'
import { type DomainError, badRequest, unauthorized } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { IsoTimestamp } from '../../domain/tenants/tenant.js'
import { type AppendError, notFound } from '../streams/errors.js'
import type { Clock } from '../streams/ports.js'
import type { ApiKeyHasher, ApiKeyStore } from './ports.js'

/**
 * The API key use cases, one function per admin request (`keys.create|list|revoke`) plus the
 * check the auth callout will run on a connect token. Who may call the admin ones
 * (`manageUsersAndKeys` on the tenant) is checked before, by `authorize`; whether the tenant
 * exists and is active, by `admit`.
 */
export interface ApiKeyDeps {
  readonly store: ApiKeyStore
  readonly hasher: ApiKeyHasher
  readonly clock: Clock
}

/** A new key: `key` is shown here and never again (it prints as `[redacted]`; `key.reveal()` for the one reply). */
export interface CreatedKey {
  readonly keyId: ApiKeyId
  readonly key: Secret
}

/** A verified key: whose it is, and which key (for audit and rate limits). */
export type VerifiedKey = TenantIdentity & { readonly keyId: ApiKeyId }

const iso = (d: Date): IsoTimestamp => d.toISOString() as IsoTimestamp

const INSERT_ATTEMPTS = 3

const UNKNOWN_KEY_HASH = 'A'.repeat(43) as KeyHash

/** Creates a key for `tenant`. An `expiresAt` not in the future is `BadRequest`. */
export const createKey =
  (deps: ApiKeyDeps) =>
  async (tenant: TenantId, request: CreateKeyRequest): Promise<E.Either<DomainError, CreatedKey>> => {
    const now = deps.clock.now()
    if (request.expiresAt !== undefined && Date.parse(request.expiresAt) <= now.getTime()) {
      return E.left(badRequest('expiresAt must be in the future', { expiresAt: request.expiresAt }))
    }
    for (let attempt = 0; attempt < INSERT_ATTEMPTS; attempt++) {
      const { keyId, secret } = deps.hasher.generate()
      const record = newApiKeyRecord(
        { keyId, tenant, role: request.role, hash: deps.hasher.hash(keyId, secret), createdAt: iso(now) },
        request,
      )
      if (await deps.store.insert(record)) return E.right({ keyId, key: formatApiKey(keyId, secret) })
    }
    // 71 random bits per keyId: repeated collisions mean a broken generator, a defect.
    throw new Error(`createKey: ${INSERT_ATTEMPTS} keyId collisions in a row; the key generator is broken`)
  }

/**
 * Checks a presented key (a NATS connect token) at `now`. Anything wrong (not a key, bad checksum,
 * unknown keyId, wrong secret, revoked, expired) is the same `Unauthorized`, which never says which.
 * On success records `lastUsedAt`, at most once a minute per key; a failed bookkeeping write does
 * not fail the verification.
 */
export const verifyKey =
  (deps: ApiKeyDeps) =>
  async (text: unknown, now: Date): Promise<E.Either<DomainError, VerifiedKey>> => {
    const parsed = parseApiKey(text)
    if (E.isLeft(parsed)) return E.left(unauthorized())
    const { keyId, secret } = parsed.right
    const record = await deps.store.get(keyId)
    if (record === undefined) {
      // Run the same HMAC and comparison, so an unknown keyId costs what a wrong secret costs.
      deps.hasher.verify(keyId, secret, UNKNOWN_KEY_HASH)
      return E.left(unauthorized())
    }
    if (!deps.hasher.verify(keyId, secret, record.hash)) return E.left(unauthorized())
    if (E.isLeft(isUsable(record, now))) return E.left(unauthorized())
    if (markUsed(record, iso(now)) !== record) {
      await deps.store.update(keyId, (current) => markUsed(current, iso(now))).then(
        () => undefined,
        () => undefined,
      )
    }
    return E.right({ tenant: record.tenant, role: record.role, keyId })
  }

/**
 * Revokes a key of `tenant`. Idempotent: revoking a revoked key answers it unchanged (first
 * `revokedAt` kept). A keyId that does not exist and one of another tenant are the same
 * `NotFound`, so a tenant learns nothing about other tenants' keys and cannot revoke them.
 */
export const revokeKey =
  (deps: ApiKeyDeps) =>
  async (tenant: TenantId, keyId: ApiKeyId): Promise<E.Either<AppendError, ApiKeyView>> => {
    const current = await deps.store.get(keyId)
    const missing = E.left(notFound(`no key ${keyId} in tenant ${tenant}`))
    if (current === undefined || current.tenant !== tenant) return missing
    const at = iso(deps.clock.now())
    const updated = await deps.store.update(keyId, (rec) => revoke(rec, at))
    return updated === undefined ? missing : E.right(viewOf(updated))
  }

/** The keys of `tenant`, revoked ones included, without their hashes. */
export const listKeys =
  (deps: ApiKeyDeps) =>
  async (tenant: TenantId): Promise<readonly ApiKeyView[]> =>
    (await deps.store.listByTenant(tenant)).map(viewOf)
