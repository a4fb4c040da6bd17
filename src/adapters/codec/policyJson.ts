import * as E from 'fp-ts/lib/Either.js'
import type { CorruptPolicySet } from '../../application/policies/ports.js'
import { type PolicyRule, PolicySet } from '../../domain/security/policies.js'
import { describeFailure } from '../../domain/security/ruleCodecs.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** A tenant's rule set as stored: UTF-8 JSON of `{ rules }`. */
export const encodePolicyJson = (rules: readonly PolicyRule[]): Uint8Array => encoder.encode(JSON.stringify(PolicySet.encode({ rules })))

/**
 * Decodes a stored rule set (`revision`: the value's), checked against the `PolicySet` codec (at
 * most 100 valid rules, ids unique). Never throws: anything else is a {@link CorruptPolicySet}.
 */
export const decodePolicyJson = (key: string, revision: number, bytes: Uint8Array): E.Either<CorruptPolicySet, readonly PolicyRule[]> => {
  const corrupt = (message: string): E.Either<CorruptPolicySet, never> => E.left({ _tag: 'CorruptPolicySet', tenant: key, message, revision })
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch (e) {
    return corrupt(`not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  const r = PolicySet.decode(json)
  return E.isLeft(r) ? corrupt(describeFailure(r.left, 'policies').message) : E.right(r.right.rules)
}
