import type { FastifyReply } from 'fastify'
import { type ErrorCode, statusOf, toWireError, type WireFailure } from '../nats/service/errorCodes.js'

/**
 * An RFC 9457 problem details body carrying the contract's error `code` and its details
 * (`expected`, `actual`, `limit`, `retryAfterMs`, `rule`, …) as top-level members.
 */
export interface ProblemDetails {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  instance?: string
  [k: string]: unknown
}

/** The media type of every error answer. */
export const PROBLEM_JSON = 'application/problem+json'

/** Where the problem types are documented: `type` is this plus the code in kebab case. */
export const PROBLEM_TYPE_BASE = 'https://allsource.dev/problems/'

const titles: Readonly<Record<ErrorCode, string>> = {
  BAD_REQUEST: 'Bad request',
  INVALID_ID: 'Invalid identifier',
  VALIDATION_FAILED: 'Validation failed',
  WRONG_EXPECTED_VERSION: 'Wrong expected version',
  TOO_LARGE: 'Too large',
  NOT_FOUND: 'Not found',
  TENANT_NOT_FOUND: 'Tenant not found',
  TENANT_SUSPENDED: 'Tenant suspended',
  QUOTA_EXCEEDED: 'Quota exceeded',
  UNAUTHORIZED: 'Unauthorized',
  FORBIDDEN: 'Forbidden',
  UNAVAILABLE: 'Unavailable',
  INTERNAL: 'Internal error',
}

/** Members of RFC 9457 itself; a detail of the same name never overwrites them. */
const RESERVED = new Set(['type', 'title', 'status', 'detail', 'code', 'instance'])

/**
 * The problem details of a failure, through the one error table (`toWireError`, `statusOf`): the
 * wire code's status, its message as `detail`, every detail as a top-level member. `instance`
 * (the request id) is set when given. Pure; never throws.
 */
export const problemOf = (failure: WireFailure, instance?: string): ProblemDetails => {
  const { code, message, ...details } = toWireError(failure)
  const problem: ProblemDetails = {
    type: `${PROBLEM_TYPE_BASE}${code.toLowerCase().replace(/_/g, '-')}`,
    title: titles[code],
    status: statusOf[code],
    detail: message,
    code,
  }
  for (const [k, v] of Object.entries(details)) if (!RESERVED.has(k) && v !== undefined) problem[k] = v
  if (instance !== undefined) problem.instance = instance
  return problem
}

/**
 * Answers `failure` as problem details: status from the error table, `content-type:
 * application/problem+json`, `Retry-After` (whole seconds, rounded up) when the failure carries
 * `retryAfterMs`, `WWW-Authenticate` on 401, and `instance` = the request id (`X-Request-Id`).
 * `status` overrides the table's for HTTP's own distinctions (412 for a stale `If-Match`, 405,
 * 415); the `code` stays the contract's.
 */
export const sendProblem = (reply: FastifyReply, failure: WireFailure, status?: number): FastifyReply => {
  const problem = problemOf(failure, String(reply.request.id))
  if (status !== undefined) problem.status = status
  const retry = problem.retryAfterMs
  if (typeof retry === 'number' && Number.isFinite(retry) && retry >= 0) reply.header('retry-after', String(Math.max(1, Math.ceil(retry / 1000))))
  if (problem.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="allsource", ApiKey realm="allsource"')
  return reply.code(problem.status).header('content-type', PROBLEM_JSON).send(problem)
}
