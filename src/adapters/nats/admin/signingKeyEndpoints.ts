import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import type { Rotated } from '../../../application/auth/keyRing.js'
import type { AppendError } from '../../../application/streams/errors.js'
import type { AuditDraft } from '../../../domain/security/audit.js'
import { badRequest, invalidId } from '../../../domain/streams/errors.js'
import { type Endpoint, startEndpoint } from '../service/endpoint.js'
import { actorFromReply } from './replyActor.js'

/** The admin word of the signing-key requests: `<prefix>.admin.signing-keys.<command>` (reserved as a tenant id). */
export const SIGNING_KEYS_WORD = 'signing-keys'

/** `<prefix>.admin.signing-keys.rotate`. */
export const rotateSigningKeySubject = (prefix: string): string => `${prefix}.admin.${SIGNING_KEYS_WORD}.rotate`

export interface SigningKeyEndpointsOptions {
  readonly prefix: string
  readonly queue: string
  /** Rotates the ring and makes this process sign with the new key at once. */
  readonly rotate: () => Promise<E.Either<AppendError, Rotated>>
  /** Auth mode's audit trail: one `signingkey.rotate` entry per rotation asked, whatever its result. */
  readonly audit?: (draft: AuditDraft) => void
}

/**
 * `<prefix>.admin.signing-keys.rotate` (operator only: no tenant grant holds it; nothing of a
 * tenant's admin subjects can collide, since `signing-keys` is a reserved tenant id and every
 * tenant admin listener needs `keys|users|policies|stats|audit` as its fourth token): nothing or
 * `{}` → `{ active, retired: [{ kid, verifyUntil }] }` (kids only, never key material). A fresh key
 * signs from now on; tokens signed by the previous key keep verifying until `verifyUntil` (their
 * lifetime plus the ring cache and a minute of skew), so no client is cut off. Audited as
 * `signingkey.rotate` (who: the operator, from its reply inbox; `details.kid` the new key's id).
 */
export const startSigningKeyEndpoints = (nc: NatsConnection, o: SigningKeyEndpointsOptions): Endpoint[] => {
  const subject = rotateSigningKeySubject(o.prefix)
  const rotate = startEndpoint(
    nc,
    {
      prefix: o.prefix,
      queue: `${o.queue}-signing-keys`,
      verb: 'admin.signing-keys',
      name: 'signing-key-admin',
      tokens: 1,
      emptyBody: 'allowed',
      route: { announced: subject, listen: [subject], tokensOf: (s) => (s === subject ? E.right(['rotate']) : E.left(invalidId('subject', `${subject} takes no tokens after it`))) },
    },
    async (_tokens, body, _format, request) => {
      if (body !== undefined && !(typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0)) {
        return E.left(badRequest('signing-keys.rotate takes no body or {}'))
      }
      const r = await o.rotate()
      o.audit?.({
        who: actorFromReply(request.reply, undefined, true),
        action: 'signingkey.rotate',
        ...(E.isRight(r) ? { outcome: 'succeeded' as const, target: `signingkey:${r.right.active}`, details: { retired: r.right.retired.length } } : { outcome: 'failed' as const, reason: r.left._tag }),
      })
      return r
    },
  )
  return [rotate]
}
