import * as E from 'fp-ts/lib/Either.js'
import { may } from '../../../domain/security/permissions.js'
import { userPrincipal } from '../../../domain/security/principal.js'
import { parseSubject } from '../../../domain/security/token.js'
import { parseUsername } from '../../../domain/security/user.js'
import type { Identity } from '../../../domain/security/roles.js'
import { EVENT_STREAM } from '../log/eventStream.js'
import { subjects } from '../subjects.js'

/** NATS publish/subscribe permissions, in the shape of a user JWT's `pub`/`sub` (allow and deny lists). */
export interface NatsPermissions {
  readonly pub: { readonly allow: readonly string[]; readonly deny: readonly string[] }
  readonly sub: { readonly allow: readonly string[]; readonly deny: readonly string[] }
}

/** What a connection of one identity may do on NATS, and the inbox prefix it must use. */
export interface NatsGrant {
  readonly permissions: NatsPermissions
  /** `_INBOX.<tenant>.<principal>` for a tenant identity: the client's `inboxPrefix`; replies arrive only under it. */
  readonly inboxPrefix: string
}

export interface GrantOptions {
  /** The subject prefix (default `allsource`). */
  readonly prefix?: string
  /**
   * Durable consumer names on `ALLSOURCE_EVENTS` that belong to the processor (projection folds):
   * every JetStream verb on them is denied, since a consumer name is a bearer capability.
   */
  readonly processorConsumers?: readonly string[]
}

/** The inbox prefix of a tenant principal: `_INBOX.<tenant>.<principal>`. */
export const tenantInboxPrefix = (tenant: string, principal: string): string => `_INBOX.${tenant}.${principal}`

/** What every tenant reply subject starts with: `_INBOX.<tenant>.`. The processor refuses other replies. */
export const tenantInboxRoot = (tenant: string): string => `_INBOX.${tenant}.`

const consumerVerbs = ['CREATE', 'DURABLE.CREATE', 'INFO', 'MSG.NEXT', 'DELETE', 'PAUSE', 'UNPIN', 'RESET'] as const

/**
 * The NATS permissions a connection of `identity` gets from the auth callout (docs/security.md,
 * "Who can reach which subject"). Pure; the one place a role becomes subjects.
 *
 * Guarantees:
 * - a tenant identity is confined to its tenant's subjects: requests on its own
 *   `append|ingest|read|query|analytics|projection|admin` subjects as its role allows (`may`), the
 *   projection topics `allsource.projections.<t>.>` with `subscribe`, and replies only under its
 *   own inbox `_INBOX.<t>.<principal>.>` (never `_INBOX.>`);
 * - JetStream: only named consumers whose filter, given in the create subject, lies inside
 *   `allsource.events.<t>.>` (the server refuses a body filter that differs), and the info, next,
 *   delete and ack subjects of consumers on `ALLSOURCE_EVENTS`; never stream management, consumer
 *   listing, the legacy durable-create subject (its filter is only in the body), KV or `$SYS`;
 *   every verb on the processor's consumers is denied;
 * - no `allow_responses`: a tenant cannot answer requests, so it cannot be handed a reply subject
 *   to write into;
 * - the operator may use every subject of the application account except `$SYS.>`.
 */
export const grantFor = (identity: Identity, principal: string, options: GrantOptions = {}): NatsGrant => {
  const s = subjects(options.prefix)
  const p = s.prefix
  if (identity.role === 'operator') {
    return {
      permissions: { pub: { allow: ['>'], deny: ['$SYS.>'] }, sub: { allow: ['>'], deny: ['$SYS.>'] } },
      inboxPrefix: `_INBOX._operator.${principal}`,
    }
  }
  const t = identity.tenant
  const inboxPrefix = tenantInboxPrefix(t, principal)
  const pub: string[] = []
  const sub: string[] = [`${inboxPrefix}.>`]
  const can = (op: Parameters<typeof may>[1]): boolean => may(identity.role, op)
  // The server checks a publish against the subject its append mapping made of it (docs/operations.md, "Several processors").
  if (can('append')) pub.push(s.append(t, '*'), s.routedAppend(t, '*', '*'))
  if (can('ingest')) pub.push(s.ingest(t, '*'))
  if (can('read')) {
    pub.push(
      s.read(t, '*'),
      s.projection(t, '*'),
      // Replay and durable subscriptions: the filter is in the create subject, so it is checked here.
      `$JS.API.CONSUMER.CREATE.${EVENT_STREAM}.*.${s.eventsOf(t)}`,
      `$JS.API.CONSUMER.INFO.${EVENT_STREAM}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${EVENT_STREAM}.*`,
      `$JS.API.CONSUMER.DELETE.${EVENT_STREAM}.*`,
      `$JS.ACK.${EVENT_STREAM}.*.>`,
    )
  }
  if (can('query')) pub.push(s.query(t), s.analytics(t, '*'))
  if (can('subscribe')) sub.push(`${p}.projections.${t}.>`)
  if (can('manageUsersAndKeys')) pub.push(`${p}.admin.${t}.keys.*`, `${p}.admin.${t}.users.*`)
  if (can('managePolicies')) pub.push(`${p}.admin.${t}.policies.*`)
  if (can('manageProjections')) pub.push(`${p}.admin.${t}.pipelines.*`)
  if (can('readStats')) pub.push(`${p}.admin.${t}.stats`)
  if (can('readAudit')) pub.push(`${p}.admin.${t}.audit.*`)
  pub.push(...sessionSubjects(p))
  const deny = (options.processorConsumers ?? []).flatMap((name) => [
    ...consumerVerbs.map((v) => `$JS.API.CONSUMER.${v}.${EVENT_STREAM}.${name}`),
    `$JS.API.CONSUMER.CREATE.${EVENT_STREAM}.${name}.>`,
    `$JS.ACK.${EVENT_STREAM}.${name}.>`,
  ])
  return {
    permissions: { pub: { allow: pub, deny }, sub: { allow: sub, deny: [] } },
    inboxPrefix,
  }
}

/** What every tenant identity may ask about its own session: `auth.token|refresh|logout|me` (the reply inbox names who asks). */
export const sessionSubjects = (prefix: string): readonly string[] => ['token', 'refresh', 'logout', 'me'].map((v) => `${prefix}.auth.${v}`)

/** `<prefix>.auth.accept-invite`: the one subject of a connection made with an invitation token. */
export const acceptInviteSubject = (prefix: string): string => `${prefix}.auth.accept-invite`

/**
 * The grant of a connection made with an invitation token (`scope: 'invitation'`): publish only
 * `<prefix>.auth.accept-invite`, subscribe only its own inbox `_INBOX.<tenant>.<principal>.>`.
 * Nothing of the tenant's data, whatever the invited role.
 */
export const invitationGrant = (tenant: string, principal: string, options: GrantOptions = {}): NatsGrant => {
  const inboxPrefix = tenantInboxPrefix(tenant, principal)
  return {
    permissions: { pub: { allow: [acceptInviteSubject(subjects(options.prefix).prefix)], deny: [] }, sub: { allow: [`${inboxPrefix}.>`], deny: [] } },
    inboxPrefix,
  }
}

/**
 * The connect options of an invited user in auth mode: `user: "<tenant>/<username>"`, the
 * invitation token as the password, and the user's inbox prefix. The connection may only send
 * `allsource.auth.accept-invite` (`{ inviteToken, password }`). Throws for a username that cannot exist.
 */
export const invitationConnectOptions = (tenant: string, username: string, inviteToken: string): { readonly user: string; readonly pass: string; readonly inboxPrefix: string } =>
  userConnectOptions(tenant, username, inviteToken)

/**
 * The connect options of a tenant client in auth mode: the API key as the connect token, and the
 * inbox prefix its grant allows (`_INBOX.<tenant>.<keyId>`). Use with `connect({ servers, ...it })`.
 * Throws for a value that is not an `as_…` key (the message never contains the value).
 */
export const tenantConnectOptions = (tenant: string, apiKey: string): { readonly token: string; readonly inboxPrefix: string } => {
  const m = /^as_([0-9A-Za-z]{12})_/.exec(apiKey)
  if (m === null) throw new Error('tenantConnectOptions: the key is not an AllSource API key (as_<keyId>_<secret>_<checksum>)')
  return { token: apiKey, inboxPrefix: tenantInboxPrefix(tenant, m[1] as string) }
}

/**
 * The connect options of a tenant user in auth mode: `user: "<tenant>/<username>"`, the password,
 * and the inbox prefix its grant allows (`_INBOX.<tenant>.u_<username, '.' → '~'>`). The username
 * is folded to lower case, as the server stores it. Use with `connect({ servers, ...it })`.
 * Throws for a username that cannot exist (the message never contains the password).
 */
export const userConnectOptions = (tenant: string, username: string, password: string): { readonly user: string; readonly pass: string; readonly inboxPrefix: string } => {
  const name = parseUsername(username)
  if (E.isLeft(name)) throw new Error('userConnectOptions: not a valid username (1–64 of a–z 0–9 . _ -)')
  return { user: `${tenant}/${name.right}`, pass: password, inboxPrefix: tenantInboxPrefix(tenant, userPrincipal(name.right)) }
}

/**
 * The connect options of a client holding an access token (from `allsource.auth.token`): the
 * token as the connect token, and the inbox prefix of the principal it speaks for (its `sub`:
 * `user:<name>` → `u_…`, `key:<keyId>` → the keyId). The claims are read, not verified: the
 * server's callout verifies. Throws for a text that is not such a JWT (never echoing it).
 */
export const tokenConnectOptions = (tenant: string, accessToken: string): { readonly token: string; readonly inboxPrefix: string } => {
  let sub: unknown
  try {
    const payload = accessToken.split('.')[1] ?? ''
    sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub
  } catch {
    sub = undefined
  }
  const subject = parseSubject(sub)
  if (E.isLeft(subject)) throw new Error('tokenConnectOptions: not an AllSource access token (a JWT whose sub is user:<name> or key:<keyId>)')
  const principal = subject.right.kind === 'user' ? userPrincipal(subject.right.username) : subject.right.keyId
  return { token: accessToken, inboxPrefix: tenantInboxPrefix(tenant, principal) }
}
