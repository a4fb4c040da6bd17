export { MAX_POLICY_WRITE_ATTEMPTS, changePolicies, fromStoreError } from './changePolicies.js'
export { createPolicy } from './createPolicy.js'
export { deletePolicy } from './deletePolicy.js'
export { checkAppendPolicy, evaluatePolicy } from './evaluatePolicy.js'
export { listPolicies } from './listPolicies.js'
export { type PolicyCache, startPolicyCache } from './policyCache.js'
export type {
  CorruptPolicySet,
  PayloadSizer,
  PolicyChange,
  PolicyRevisionConflict,
  PolicyStore,
  PolicyStoreError,
  PolicyStoreUnavailable,
  StoredPolicies,
} from './ports.js'
