import * as E from 'fp-ts/lib/Either.js'
import { RuleId } from '../../domain/security/policies.js'
import { badRequest, invalidId } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import { type AppendError, notFound } from '../streams/errors.js'
import { changePolicies } from './changePolicies.js'
import type { PolicyStore } from './ports.js'

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/**
 * `policies.delete` with body `{ id }`: removes that rule and answers `{ id }`. A rule id the
 * tenant does not hold is `NotFound` (so a repeated delete whose first reply was lost answers
 * `NOT_FOUND`: the rule is gone either way). A malformed id is `InvalidId`.
 */
export const deletePolicy =
  (store: PolicyStore) =>
  async (tenant: TenantId, body: unknown): Promise<E.Either<AppendError, { readonly id: string }>> => {
    if (!isRecord(body)) return E.left(badRequest('request body must be an object { id }'))
    if (!RuleId.is(body.id)) return E.left(invalidId('id', 'id must be a rule id: 1–64 characters of A–Z a–z 0–9 _ -'))
    const id = body.id
    const written = await changePolicies(store, tenant, (rules) =>
      rules.some((r) => r.id === id) ? E.right(rules.filter((r) => r.id !== id)) : E.left(notFound(`tenant ${tenant} has no policy rule "${id}"`)),
    )()
    return E.map(() => ({ id }))(written)
  }
