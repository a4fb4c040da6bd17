import * as E from 'fp-ts/lib/Either.js'
import { MAX_RULES_PER_TENANT, type PolicyRule, validateRule } from '../../domain/security/policies.js'
import { badRequest } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { AppendError } from '../streams/errors.js'
import { changePolicies } from './changePolicies.js'
import type { PolicyStore } from './ports.js'

const sameRule = (a: PolicyRule, b: PolicyRule): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * `policies.create`: adds one rule (the request body) to `tenant`'s rules and answers it.
 *
 * - A body that is not a valid rule is `BadRequest` naming the field (`rule.match.eventType[0] …`).
 * - Creating a rule identical to a stored one (same id, same content, same field order as JSON
 *   gives it back) is a no-op answering it, so a retried request is harmless; another rule with
 *   that id is `BadRequest` (delete it first: rules are replaced deliberately, not silently).
 * - The 101st rule is `BadRequest` (at most {@link MAX_RULES_PER_TENANT} per tenant).
 * - Concurrent creates are each applied once (compare-and-set, re-applied after a lost race).
 * Who may call it (`managePolicies`) is checked before, by `authorize`.
 */
export const createPolicy =
  (store: PolicyStore) =>
  async (tenant: TenantId, body: unknown): Promise<E.Either<AppendError, PolicyRule>> => {
    const rule = validateRule(body)
    if (E.isLeft(rule)) return rule
    const r = rule.right
    const written = await changePolicies(store, tenant, (rules) => {
      const existing = rules.find((x) => x.id === r.id)
      if (existing !== undefined) {
        return sameRule(existing, r) ? E.right(rules) : E.left(badRequest(`a rule with id "${r.id}" exists; delete it first to replace it`, { rule: r.id }))
      }
      if (rules.length >= MAX_RULES_PER_TENANT) {
        return E.left(badRequest(`tenant ${tenant} has ${rules.length} rules, the most allowed; delete one first`, { limit: MAX_RULES_PER_TENANT }))
      }
      return E.right([...rules, r])
    })()
    return E.map(() => r)(written)
  }
