/**
 * Expected failures of a request (write path, reads, tenancy and access checks), as values.
 * Adapters map each tag to a wire code in one table (`src/adapters/nats/service/errorCodes.ts`);
 * nothing here knows about HTTP or NATS.
 */

export interface BadRequest {
  readonly _tag: 'BadRequest'
  readonly message: string
  readonly details?: Readonly<Record<string, unknown>>
}

export interface InvalidId {
  readonly _tag: 'InvalidId'
  readonly message: string
  /** Which field held the id: `tenant`, `stream`, `events[2].id`, `commitId`, … */
  readonly field: string
}

export interface ValidationFailure {
  /** Where the problem is (`events[0].payload.amount`) or which invariant broke. */
  readonly path: string
  readonly message: string
}

export interface ValidationFailed {
  readonly _tag: 'ValidationFailed'
  readonly message: string
  readonly failures: readonly ValidationFailure[]
}

export interface WrongExpectedVersion {
  readonly _tag: 'WrongExpectedVersion'
  /** What the client sent: a number or `"no_stream"` / `"exists"`. */
  readonly expected: number | string
  /** The stream's current version. */
  readonly actual: number
}

export interface TooLarge {
  readonly _tag: 'TooLarge'
  readonly message: string
  readonly size: number
  readonly max: number
  readonly unit: 'bytes' | 'events'
}

/** The caller's identity is known but may not do this (role, tenant boundary, or a policy deny). */
export interface Forbidden {
  readonly _tag: 'Forbidden'
  readonly message: string
  /** Why: the role lacks the operation, the identity belongs to another tenant, or a policy denied. */
  readonly reason: 'role' | 'tenant' | 'policy'
  /** The operation refused (`append`, `manageTenants`, …). */
  readonly operation?: string
  /** The id of the policy rule that denied, when `reason` is `policy`. */
  readonly rule?: string
  /** The index of the denied event in the request's `events`, when `reason` is `policy`. */
  readonly event?: number
}

/** No valid credentials (missing, expired, revoked, tampered). Never says which. */
export interface Unauthorized {
  readonly _tag: 'Unauthorized'
  readonly message: string
}

/** The tenant does not exist, or is soft-deleted. */
export interface TenantNotFound {
  readonly _tag: 'TenantNotFound'
  readonly tenant: string
}

/** The tenant exists but is suspended: nothing may be done in it until it is activated. */
export interface TenantSuspended {
  readonly _tag: 'TenantSuspended'
  readonly tenant: string
}

/** A quota or rate limit is spent. */
export interface QuotaExceeded {
  readonly _tag: 'QuotaExceeded'
  readonly message: string
  /** Which limit: `eventsPerDay`, `appendsPerSecond`, `storedBytes`, … */
  readonly quota: string
  readonly limit: number
  /** When the budget allows the request again; for a limit that does not reset (streams, bytes), when the usage is counted again. */
  readonly retryAfterMs: number
  /** What is used of the limit now, for limits that do not reset by themselves (`storedBytes`). */
  readonly used?: number
}

/** A state change the entity's current state does not allow (activating a deleted tenant). */
export interface IllegalTransition {
  readonly _tag: 'IllegalTransition'
  readonly message: string
  /** The entity acted on, e.g. the tenant id. */
  readonly target: string
  /** Its current state. */
  readonly status: string
  /** The refused change. */
  readonly action: string
}

export type DomainError =
  | BadRequest
  | InvalidId
  | ValidationFailed
  | WrongExpectedVersion
  | TooLarge
  | Forbidden
  | Unauthorized
  | TenantNotFound
  | TenantSuspended
  | QuotaExceeded
  | IllegalTransition

export const badRequest = (message: string, details?: Record<string, unknown>): DomainError =>
  details === undefined ? { _tag: 'BadRequest', message } : { _tag: 'BadRequest', message, details }

export const invalidId = (field: string, message: string): DomainError => ({
  _tag: 'InvalidId',
  field,
  message,
})

export const validationFailed = (message: string, failures: readonly ValidationFailure[]): DomainError => ({
  _tag: 'ValidationFailed',
  message,
  failures,
})

export const wrongExpectedVersion = (expected: number | string, actual: number): DomainError => ({
  _tag: 'WrongExpectedVersion',
  expected,
  actual,
})

export const tooLarge = (size: number, max: number, unit: 'bytes' | 'events' = 'bytes'): DomainError => ({
  _tag: 'TooLarge',
  message:
    unit === 'bytes'
      ? `commit is ${size} bytes; the server accepts at most ${max}`
      : `commit has ${size} events; at most ${max} are allowed per commit`,
  size,
  max,
  unit,
})

export const forbidden = (
  reason: Forbidden['reason'],
  message: string,
  extra: { readonly operation?: string; readonly rule?: string; readonly event?: number } = {},
): DomainError => ({
  _tag: 'Forbidden',
  reason,
  message,
  ...(extra.operation !== undefined ? { operation: extra.operation } : {}),
  ...(extra.rule !== undefined ? { rule: extra.rule } : {}),
  ...(extra.event !== undefined ? { event: extra.event } : {}),
})

export const unauthorized = (message = 'missing or invalid credentials'): DomainError => ({ _tag: 'Unauthorized', message })

export const tenantNotFound = (tenant: string): DomainError => ({ _tag: 'TenantNotFound', tenant })

export const tenantSuspended = (tenant: string): DomainError => ({ _tag: 'TenantSuspended', tenant })

export const quotaExceeded = (quota: string, limit: number, retryAfterMs: number, extra?: { readonly used: number; readonly message: string }): DomainError =>
  extra === undefined
    ? { _tag: 'QuotaExceeded', message: `${quota} quota of ${limit} is spent; retry after ${retryAfterMs} ms`, quota, limit, retryAfterMs }
    : { _tag: 'QuotaExceeded', message: extra.message, quota, limit, retryAfterMs, used: extra.used }

export const illegalTransition = (
  target: string,
  status: string,
  action: string,
  message = `cannot ${action} ${target}: it is ${status}`,
): DomainError => ({
  _tag: 'IllegalTransition',
  message,
  target,
  status,
  action,
})
