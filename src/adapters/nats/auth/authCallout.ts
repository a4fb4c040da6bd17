import type { AuthorizationRequest } from '@nats-io/jwt'
import { fromSeed } from '@nats-io/nkeys'
import { createXkeySealer, type XkeySealer } from '../../crypto/xkeySealer.js'
import { isPublicNkey, nkeySigner } from '../../crypto/ed25519Nkeys.js'
import { decodeNatsJwt, encodeNatsJwt } from './natsJwt.js'
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import type * as E from 'fp-ts/lib/Either.js'
import { type Authenticated, passwordCredential } from '../../../application/auth/authenticate.js'
import type { AppendError } from '../../../application/streams/errors.js'
import type { Identity } from '../../../domain/security/roles.js'
import { type GrantOptions, grantFor, invitationGrant } from './natsGrants.js'

/** `$SYS.REQ.USER.AUTH`: where nats-server sends authorization requests, in the callout's account. */
export const AUTH_CALLOUT_SUBJECT = '$SYS.REQ.USER.AUTH'

/** One decision of the callout, for the log and the audit trail. Never holds a credential. */
export interface CalloutDecision {
  readonly outcome: 'granted' | 'refused'
  /** `<tenant>:<principal>` or `operator:<keyId>` when granted (the connection's NATS user name). */
  readonly who?: string
  /** Granted: the identity admitted and the principal (keyId) that names it; `who` in structured form. */
  readonly identity?: Identity
  readonly principal?: string
  /** Granted with a narrowed grant: `invitation` (a connection that may only accept its invitation). */
  readonly scope?: 'invitation'
  /** Refused: the wire code of the refusal (`UNAUTHORIZED`, `TENANT_NOT_FOUND`, `TENANT_SUSPENDED`, `QUOTA_EXCEEDED` (the `connections` quota), `UNAVAILABLE`, `INTERNAL`). */
  readonly code?: string
  /** Refused for a tenant's state (`TENANT_NOT_FOUND`, `TENANT_SUSPENDED`): that tenant, as the verified credential named it. */
  readonly tenant?: string
  /** Refused `QUOTA_EXCEEDED`: which quota and its limit. */
  readonly quota?: { readonly name: string; readonly limit: number }
  /** The client's address and name as the server reported them. */
  readonly client: { readonly host?: string; readonly name?: string }
  /** Milliseconds from receiving the request to sending the answer. */
  readonly ms: number
}

export interface AuthCalloutOptions {
  /** Seed of the account nkey named `issuer` in the server's `auth_callout` block: signs every answer. */
  readonly issuerSeed: string
  /** Seed of the curve key whose public half is the server's `xkey`: requests arrive sealed, answers leave sealed. */
  readonly xkeySeed?: string
  /** The account tenant connections are placed in (the user JWT's `aud`, config mode). */
  readonly account: string
  /** How long a grant lives (the user JWT's `exp`): the server disconnects the client then, and it re-authenticates. Default 10 min. */
  readonly grantTtlMs?: number
  /**
   * Checks the credential: the connect token (`auth_token`, or `pass` when `user` names no
   * tenant user), or a `PasswordCredential` for `user: "<tenant>/<username>"` + `pass`.
   */
  readonly authenticate: (credential: unknown, now: Date) => Promise<E.Either<AppendError, Authenticated>>
  readonly grants?: GrantOptions | (() => GrantOptions)
  /** Subscriptions a tenant connection may hold at once. Default 1000. */
  readonly maxSubscriptions?: number
  readonly onDecision?: (d: CalloutDecision) => void
  readonly now?: () => Date
}

export interface AuthCallout {
  /** Authorization requests answered so far. */
  readonly answered: () => number
  stop(): Promise<void>
}

const te = new TextEncoder()
const td = new TextDecoder()

const codeOf = (e: AppendError): string => {
  switch (e._tag) {
    case 'TenantNotFound':
      return 'TENANT_NOT_FOUND'
    case 'TenantSuspended':
      return 'TENANT_SUSPENDED'
    case 'Unavailable':
      return 'UNAVAILABLE'
    case 'QuotaExceeded':
      return 'QUOTA_EXCEEDED'
    default:
      return 'UNAUTHORIZED'
  }
}

/**
 * The NATS auth callout (config mode, docs/security.md "Isolation design"): answers
 * `$SYS.REQ.USER.AUTH` requests from nats-server on a connection of the callout account.
 *
 * For each request it opens the sealed request (xkey), checks the server's signature, takes the
 * credential (`user: "<tenant>/<username>"` + `pass`; else the connect token, `auth_token` or
 * `pass`), authenticates it, and answers
 * a signed authorization response: either a user JWT for the request's `user_nkey`, placed in
 * `account`, with the literal permissions of {@link grantFor}, `exp` = now + `grantTtlMs` and name
 * `<tenant>:<principal>` (a keyId or `u_<username>`); or an error the server turns into "authorization violation". Explicit
 * permissions are always sent (a JWT without them would get the account's defaults).
 *
 * Requests are answered concurrently (each callback starts its own answer): a password check
 * (argon2id, ~100 ms in libuv's thread pool) or a KV read never holds up other connections.
 *
 * Guarantees: a request that cannot be read, is not signed by the server it names, or carries no
 * valid credential is refused, never granted; a failure inside the handler is a refusal; the
 * credential never reaches `onDecision`, a log, or an error.
 */
export const startAuthCallout = (nc: NatsConnection, o: AuthCalloutOptions): AuthCallout => {
  const issuer = nkeySigner(o.issuerSeed, fromSeed(te.encode(o.issuerSeed)).getPublicKey())
  const xkey: XkeySealer | undefined = o.xkeySeed === undefined ? undefined : createXkeySealer(o.xkeySeed)
  const ttlMs = o.grantTtlMs ?? 600_000
  const now = o.now ?? (() => new Date())
  let answered = 0
  let stopping: Promise<void> | undefined

  const answer = async (msg: Msg): Promise<void> => {
    const started = performance.now()
    const serverXkey = msg.headers?.get('Nats-Server-Xkey') ?? ''
    let raw: Uint8Array | undefined = msg.data
    if (xkey !== undefined) raw = serverXkey === '' ? undefined : xkey.open(msg.data, serverXkey)
    // Without a readable, server-signed request there is nobody to answer to: drop it.
    if (raw === undefined) return
    // decodeNatsJwt checks the signature against `iss`; the issuer must be the server the request names.
    const claims = decodeNatsJwt(td.decode(raw))
    const r = claims?.nats as Partial<AuthorizationRequest> | undefined
    if (claims === undefined || typeof r?.server_id?.id !== 'string' || typeof r.user_nkey !== 'string' || typeof r.connect_opts !== 'object' || r.connect_opts === null) return
    if (claims.iss !== r.server_id.id || !isPublicNkey(r.user_nkey)) return
    const request = r as AuthorizationRequest
    const serverId = r.server_id.id
    const userKey = r.user_nkey
    const connect = request.connect_opts
    // `<tenant>/<username>` + password is a user login; otherwise the token (an API key or an
    // access token), as `auth_token` or, for clients that can only send user/pass, as `pass`.
    const credential = typeof connect.user === 'string' && connect.user.includes('/') ? passwordCredential(connect.user, connect.pass) : (connect.auth_token ?? connect.pass)
    const client = { ...(request.client_info?.host !== undefined ? { host: request.client_info.host } : {}), ...(connect.name !== undefined ? { name: connect.name } : {}) }
    let body: { jwt: string } | { error: string }
    let decision: CalloutDecision
    try {
      const at = now()
      const r = await o.authenticate(credential, at)
      if (r._tag === 'Left') {
        const code = codeOf(r.left)
        body = { error: code }
        const tenant = r.left._tag === 'TenantNotFound' || r.left._tag === 'TenantSuspended' ? r.left.tenant : undefined
        const quota = r.left._tag === 'QuotaExceeded' ? { quota: { name: r.left.quota, limit: r.left.limit } } : {}
        decision = { outcome: 'refused', code, client, ms: 0, ...(tenant !== undefined ? { tenant } : {}), ...quota }
      } else {
        const { identity, principal } = r.right
        const options = typeof o.grants === 'function' ? o.grants() : o.grants
        const grant = r.right.scope === 'invitation' && identity.role !== 'operator' ? invitationGrant(identity.tenant, principal, options) : grantFor(identity, principal, options)
        const who = identity.role === 'operator' ? `operator:${principal}` : `${identity.tenant}:${principal}`
        // A user JWT for the connection's nkey, in `account` (config mode: `aud`), issued by the callout's account key.
        const jwt = encodeNatsJwt(
          {
            name: who,
            sub: userKey,
            aud: o.account,
            exp: Math.floor((at.getTime() + ttlMs) / 1000),
            nats: {
              pub: { allow: [...grant.permissions.pub.allow], deny: [...grant.permissions.pub.deny] },
              sub: { allow: [...grant.permissions.sub.allow], deny: [...grant.permissions.sub.deny] },
              subs: identity.role === 'operator' ? -1 : (o.maxSubscriptions ?? 1000),
              data: -1,
              payload: -1,
              type: 'user',
              version: 2,
            },
          },
          issuer,
          at,
        )
        body = { jwt }
        decision = { outcome: 'granted', who, identity, principal, client, ms: 0, ...(r.right.scope !== undefined ? { scope: r.right.scope } : {}) }
      }
    } catch {
      body = { error: 'INTERNAL' }
      decision = { outcome: 'refused', code: 'INTERNAL', client, ms: 0 }
    }
    const response = encodeNatsJwt({ sub: userKey, aud: serverId, nats: { ...body, type: 'authorization_response', version: 2 } }, issuer)
    const bytes = te.encode(response)
    msg.respond(xkey !== undefined ? xkey.seal(bytes, serverXkey) : bytes)
    answered++
    o.onDecision?.({ ...decision, ms: performance.now() - started })
  }

  // A queue group: with several processors, each request is answered once.
  const sub: Subscription = nc.subscribe(AUTH_CALLOUT_SUBJECT, {
    queue: 'allsource-auth',
    callback: (_err, msg) => {
      answer(msg).catch(() => undefined) // refusals are answers; a failure to answer lets the server time out
    },
  })
  return {
    answered: () => answered,
    /** Stops answering (idempotent); requests already taken are answered. */
    async stop() {
      stopping ??= sub.isClosed() ? Promise.resolve() : sub.drain().catch(() => undefined)
      await stopping
    },
  }
}
