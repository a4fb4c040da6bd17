import type { AuditLogUnavailable } from '../../../application/audit/ports.js'
import type { AppendError } from '../../../application/streams/errors.js'

/** Wire error codes of the contract. */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_ID'
  | 'VALIDATION_FAILED'
  | 'WRONG_EXPECTED_VERSION'
  | 'TOO_LARGE'
  | 'NOT_FOUND'
  | 'TENANT_NOT_FOUND'
  | 'TENANT_SUSPENDED'
  | 'QUOTA_EXCEEDED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'UNAVAILABLE'
  | 'INTERNAL'

/** The body of every failure reply: `{ error: { code, message, ...details } }`. */
export interface WireError {
  readonly code: ErrorCode
  readonly message: string
  readonly [detail: string]: unknown
}

/** The NATS micro status (`Nats-Service-Error-Code`) of each wire code. */
export const statusOf: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  INVALID_ID: 400,
  VALIDATION_FAILED: 400,
  WRONG_EXPECTED_VERSION: 409,
  TOO_LARGE: 413,
  NOT_FOUND: 404,
  TENANT_NOT_FOUND: 404,
  TENANT_SUSPENDED: 403,
  QUOTA_EXCEEDED: 429,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  UNAVAILABLE: 503,
  INTERNAL: 500,
}

/** Every expected failure an endpoint may answer: the request path's, and the audit log's read side. */
export type WireFailure = AppendError | AuditLogUnavailable

/** The one table from expected failures (tagged values) to wire errors. */
export const toWireError = (e: WireFailure): WireError => {
  switch (e._tag) {
    case 'BadRequest':
      return { ...e.details, code: 'BAD_REQUEST', message: e.message }
    case 'InvalidId':
      return { code: 'INVALID_ID', message: e.message, field: e.field }
    case 'ValidationFailed':
      return { code: 'VALIDATION_FAILED', message: e.message, failures: e.failures }
    case 'WrongExpectedVersion':
      return {
        code: 'WRONG_EXPECTED_VERSION',
        message: `expected version ${String(e.expected)} but the stream is at ${e.actual}`,
        expected: e.expected,
        actual: e.actual,
      }
    case 'TooLarge':
      return { code: 'TOO_LARGE', message: e.message, size: e.size, max: e.max, unit: e.unit }
    case 'Forbidden':
      return {
        code: 'FORBIDDEN',
        message: e.message,
        reason: e.reason,
        ...(e.operation !== undefined ? { operation: e.operation } : {}),
        ...(e.rule !== undefined ? { rule: e.rule } : {}),
        ...(e.event !== undefined ? { event: e.event } : {}),
      }
    case 'Unauthorized':
      return { code: 'UNAUTHORIZED', message: e.message }
    case 'TenantNotFound':
      return { code: 'TENANT_NOT_FOUND', message: `tenant ${e.tenant} does not exist`, tenant: e.tenant }
    case 'TenantSuspended':
      return { code: 'TENANT_SUSPENDED', message: `tenant ${e.tenant} is suspended`, tenant: e.tenant }
    case 'QuotaExceeded':
      return { code: 'QUOTA_EXCEEDED', message: e.message, quota: e.quota, limit: e.limit, retryAfterMs: e.retryAfterMs, ...(e.used !== undefined ? { used: e.used } : {}) }
    case 'IllegalTransition':
      // A state refusal, not a permission problem (403 would send people hunting for a grant) and
      // not a version conflict (409 is WRONG_EXPECTED_VERSION with expected/actual).
      return { code: 'BAD_REQUEST', message: e.message, target: e.target, status: e.status, action: e.action }
    case 'Unavailable':
      return { ...e.details, code: 'UNAVAILABLE', message: e.message }
    case 'Internal':
      return { code: 'INTERNAL', message: e.message }
    case 'NotFound':
      return { code: 'NOT_FOUND', message: e.message }
    case 'AuditLogUnavailable':
      // The store is down or its reader budget is spent: retry later, like any UNAVAILABLE.
      return { code: 'UNAVAILABLE', message: e.message, ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) }
    default: {
      const never: never = e
      return never
    }
  }
}
