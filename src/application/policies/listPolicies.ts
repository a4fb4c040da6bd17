import * as E from 'fp-ts/lib/Either.js'
import { type PolicyRule, orderRules } from '../../domain/security/policies.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { AppendError } from '../streams/errors.js'
import { fromStoreError } from './changePolicies.js'
import type { PolicyStore } from './ports.js'

/** `policies.list`: the tenant's rules in evaluation order (the order the first match is looked for), and the set's revision. */
export const listPolicies =
  (store: PolicyStore) =>
  async (tenant: TenantId): Promise<E.Either<AppendError, { readonly rules: readonly PolicyRule[]; readonly revision: number }>> => {
    const loaded = await store.get(tenant)()
    return E.isLeft(loaded) ? E.left(fromStoreError(loaded.left)) : E.right({ rules: orderRules(loaded.right.rules), revision: loaded.right.revision })
  }
