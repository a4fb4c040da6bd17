import type { FastifyReply } from 'fastify'
import { statusOf, toWireError, type WireFailure } from '../nats/service/errorCodes.js'

/**
 * Stand-in of the gateway's `problem.ts` (branch `gateway` owns it; its version replaces this one
 * at merge): RFC 9457 problem details with the contract's `code` and details as top-level members.
 */
export interface ProblemDetails {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly code: string
  readonly instance?: string
  readonly [detail: string]: unknown
}

export const problemOf = (failure: WireFailure, instance?: string): ProblemDetails => {
  const { code, message, ...details } = toWireError(failure)
  return {
    ...details,
    type: `https://allsource.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: code,
    status: statusOf[code],
    detail: message,
    code,
    ...(instance !== undefined ? { instance } : {}),
  }
}

export const sendProblem = (reply: FastifyReply, failure: WireFailure): FastifyReply => {
  const p = problemOf(failure)
  const retry = p.retryAfterMs
  if (typeof retry === 'number') void reply.header('Retry-After', String(Math.max(1, Math.ceil(retry / 1000))))
  return reply.code(p.status).type('application/problem+json').send(p)
}
