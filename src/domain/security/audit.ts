import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { TenantId } from '../streams/ids.js'
import { IsoTimestamp } from '../tenants/tenant.js'
import { Role } from './roles.js'
import { isSecretName, looksSecret, SCAN_MARGIN } from './redaction.js'
import { REDACTED } from './secret.js'

/**
 * The audit entry (issue 11 item 8): who did what to which tenant, and how it ended.
 *
 * Guarantee: **a valid `AuditEntry` holds no secret.** The codec itself refuses one: every string
 * in it is checked by `looksSecret` (API keys `as_…`, refresh tokens `asr_…`, JWTs `eyJ…`, nkey
 * seeds, password hashes, `password=…` text), `details` holds only scalars or short arrays of
 * scalars under keys that `isSecretName` accepts (no `password`, `secret`, `token`, `key`, `hash`,
 * …), and every string is bounded. {@link toAuditEntry} turns any caller's draft into a valid
 * entry by redacting or dropping what does not pass, and lists the paths it touched in `redacted`.
 */

/**
 * Every action the log knows: a closed union, so an action is always safe as subject tokens
 * (lowercase words joined by dots) and a typo is a compile error. Naming scheme:
 * `<area>.<verb>[.<outcome qualifier>]`, with the area first so that `key.>` selects every
 * action on keys; a failed or refused variant appends a token (`auth.login.failed`), so it is
 * selected both exactly and by its area.
 */
export const AuditAction = t.keyof(
  {
    /** A user logged in with a password (HTTP/CLI `auth/login`). */
    'auth.login': null,
    'auth.login.failed': null,
    /** A refresh token was exchanged; `.failed`: refused (expired, unknown, revoked, another user's). */
    'auth.refresh': null,
    'auth.refresh.failed': null,
    /** A spent refresh token was presented again: refused, and its whole family revoked. */
    'auth.refresh.reuse': null,
    /** An access token (and for a user a refresh token: a new session) was issued for a connected identity (`allsource.auth.token`), or refused. */
    'auth.token': null,
    /** A NATS connection was admitted by the auth callout, or refused. */
    'auth.connect': null,
    'auth.connect.refused': null,
    /** A connection refused because its tenant or username failed too many password logins lately (login rate limit). */
    'auth.connect.throttled': null,
    /** A refresh token's session ended on request (`allsource.auth.logout`): the token's family, or every session of the user. */
    'auth.logout': null,
    /** The access-token signing key was rotated (`allsource.admin.signing-keys.rotate`); the previous key keeps verifying until its tokens expire. */
    'signingkey.rotate': null,
    'key.create': null,
    'key.revoke': null,
    'user.create': null,
    /** A user was invited (`users.invite`): the record exists, the invitation token is not in the entry. */
    'user.invite': null,
    /** An invited user set its password with the invitation token (`allsource.auth.accept-invite`). */
    'user.accept': null,
    'user.update': null,
    'user.delete': null,
    'policy.create': null,
    'policy.delete': null,
    /** Appends let through by a `warn` rule: at most one entry per tenant and rule a minute, `details.warned` counting them. */
    'policy.warned': null,
    'tenant.create': null,
    'tenant.update': null,
    'tenant.suspend': null,
    'tenant.activate': null,
    'tenant.delete': null,
    /** A data or admin request refused (`FORBIDDEN`, `TENANT_SUSPENDED`, quota). */
    'request.denied': null,
    /** Someone read the audit log. */
    'audit.query': null,
  },
  'AuditAction',
)
export type AuditAction = t.TypeOf<typeof AuditAction>

export const auditActions = Object.keys(AuditAction.keys) as readonly AuditAction[]

/** Who acted: an API key (`id` = keyId), a user (`id` = username), the operator, nobody authenticated, or the product itself (`id` = component). */
export const ActorKind = t.keyof({ key: null, user: null, operator: null, anonymous: null, system: null }, 'ActorKind')
export type ActorKind = t.TypeOf<typeof ActorKind>

export const AuditOutcome = t.keyof({ allowed: null, denied: null, failed: null, succeeded: null }, 'AuditOutcome')
export type AuditOutcome = t.TypeOf<typeof AuditOutcome>

export const MAX_ACTOR_ID = 200
export const MAX_TARGET = 200
export const MAX_REQUEST_ID = 128
export const MAX_REASON = 500
export const MAX_DETAIL_STRING = 256
export const MAX_DETAIL_KEYS = 16
export const MAX_DETAIL_ARRAY = 16
/** Most UTF-16 units `JSON.stringify(details)` may take. */
export const MAX_DETAILS_JSON = 4_096
export const MAX_REDACTED_PATHS = 32

const CONTROL_RE = /[\u0000-\u001f\u007f]/
const CONTROL_GLOBAL = /[\u0000-\u001f\u007f]/g
const ID_RE = /^[\x21-\x7e]{1,128}$/
const DETAIL_KEY_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/

const isCleanText = (s: string, max: number): boolean => s.length >= 1 && s.length <= max && !CONTROL_RE.test(s) && !looksSecret(s)

interface AuditTextBrand {
  readonly AuditText: unique symbol
}
/** Text in an entry: 1–`max` characters, no control characters, nothing that looks like a credential. */
const auditText = (max: number) => t.brand(t.string, (s): s is t.Branded<string, AuditTextBrand> => isCleanText(s, max), 'AuditText')
export type AuditText = t.Branded<string, AuditTextBrand>

/** An entry id: 1–128 printable ASCII characters without spaces (generated ones are UUIDv7). */
export const AuditId = t.brand(t.string, (s): s is t.Branded<string, { readonly AuditId: unique symbol }> => ID_RE.test(s) && !looksSecret(s), 'AuditId')
export type AuditId = t.TypeOf<typeof AuditId>

/** A `details` key: an identifier of ≤ 64 characters that does not name secret material. */
export const DetailKey = t.brand(
  t.string,
  (s): s is t.Branded<string, { readonly DetailKey: unique symbol }> => DETAIL_KEY_RE.test(s) && !isSecretName(s),
  'DetailKey',
)

const FiniteNumber = t.brand(t.number, (n): n is t.Branded<number, { readonly FiniteNumber: unique symbol }> => Number.isFinite(n), 'FiniteNumber')
const DetailScalar = t.union([auditText(MAX_DETAIL_STRING), FiniteNumber, t.boolean, t.null])
const DetailArray = t.brand(
  t.readonlyArray(DetailScalar),
  (a): a is t.Branded<readonly t.TypeOf<typeof DetailScalar>[], { readonly DetailArray: unique symbol }> => a.length <= MAX_DETAIL_ARRAY,
  'DetailArray',
)
type DetailScalar = t.TypeOf<typeof DetailScalar>
export const DetailValue = t.union([DetailScalar, DetailArray])
export type DetailValue = t.TypeOf<typeof DetailValue>

/** A tenant id that does not look like a credential (a refresh token `asr_…` is a valid tenant id by its alphabet). */
export const AuditTenant = t.brand(TenantId, (s): s is t.Branded<TenantId, { readonly AuditTenant: unique symbol }> => !looksSecret(s), 'AuditTenant')

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return false
  const proto = Object.getPrototypeOf(u) as unknown
  return proto === Object.prototype || proto === null
}

/** Free-form context: ≤ 16 keys ({@link DetailKey}), each a scalar or an array of ≤ 16 scalars; ≤ 4 KiB as JSON. No nesting. */
export const AuditDetails = new t.Type<Readonly<Record<string, DetailValue>>, Readonly<Record<string, DetailValue>>, unknown>(
  'AuditDetails',
  (u): u is Readonly<Record<string, DetailValue>> => E.isRight(AuditDetails.validate(u, [])),
  (u, c) => {
    if (!isPlainObject(u)) return t.failure(u, c, 'details must be a plain object')
    const keys = Object.keys(u)
    if (keys.length > MAX_DETAIL_KEYS) return t.failure(u, c, `details has more than ${MAX_DETAIL_KEYS} keys`)
    for (const k of keys) {
      if (!DetailKey.is(k)) return t.failure(u, c, `details key ${JSON.stringify(k.slice(0, 64))} is not allowed`)
      if (!DetailValue.is(u[k])) return t.failure(u, c, `details.${k} is not a short scalar or array of scalars without secrets`)
    }
    if (JSON.stringify(u).length > MAX_DETAILS_JSON) return t.failure(u, c, `details is larger than ${MAX_DETAILS_JSON} characters as JSON`)
    return t.success(u as Readonly<Record<string, DetailValue>>)
  },
  t.identity,
)
export type AuditDetails = t.TypeOf<typeof AuditDetails>

export const AuditActor = t.readonly(
  t.exact(t.intersection([t.type({ kind: ActorKind }), t.partial({ id: auditText(MAX_ACTOR_ID), tenant: AuditTenant, role: Role })])),
  'AuditActor',
)
export type AuditActor = t.TypeOf<typeof AuditActor>

const RedactedPaths = t.brand(
  t.readonlyArray(auditText(100)),
  (a): a is t.Branded<readonly AuditText[], { readonly RedactedPaths: unique symbol }> => a.length <= MAX_REDACTED_PATHS,
  'RedactedPaths',
)

/**
 * One audit entry, as stored and as answered by `audit.query`.
 * - `at`: when the action happened (the recording process's clock), ISO-8601 UTC.
 * - `tenant`: the tenant whose data or settings the action concerns; absent for platform-wide
 *   actions (listing tenants, a refused connection that named no valid tenant). It decides who
 *   may read the entry: that tenant's admins, and the operator.
 * - `who.tenant`/`who.role`: the actor's own tenant and role (an operator acting on `acme` has
 *   `tenant: "acme"` and no `who.tenant`).
 * - `target`: what was acted on, as `<kind>:<id>` by convention (`key:AbC123xyZ789`, `user:alice`).
 * - `redacted`: paths of the draft's fields that were redacted or dropped on the way in.
 */
export const AuditEntry = t.readonly(
  t.exact(
    t.intersection([
      t.type({ id: AuditId, at: IsoTimestamp, who: AuditActor, action: AuditAction, outcome: AuditOutcome }),
      t.partial({
        requestId: auditText(MAX_REQUEST_ID),
        tenant: AuditTenant,
        target: auditText(MAX_TARGET),
        reason: auditText(MAX_REASON),
        details: AuditDetails,
        redacted: RedactedPaths,
      }),
    ]),
  ),
  'AuditEntry',
)
export type AuditEntry = t.TypeOf<typeof AuditEntry>

/**
 * What a caller hands to `AuditLog.record`: loosely typed on purpose (any string, any details),
 * since {@link toAuditEntry} is what makes it safe. `id` and `at` default to the log's own.
 */
export interface AuditDraft {
  readonly id?: string
  readonly at?: Date
  readonly requestId?: string
  readonly who: { readonly kind: ActorKind; readonly id?: string; readonly tenant?: string; readonly role?: string }
  readonly tenant?: string
  readonly action: AuditAction
  readonly target?: string
  readonly outcome: AuditOutcome
  readonly reason?: string
  readonly details?: Readonly<Record<string, unknown>>
}

const validDate = (d: unknown): d is Date => d instanceof Date && !Number.isNaN(d.getTime()) && d.getUTCFullYear() >= 0 && d.getUTCFullYear() <= 9999

/**
 * Makes an entry from a draft, never throwing: every string is stripped of control characters;
 * one that looks like a credential anywhere (scanned {@link SCAN_MARGIN} characters past where it
 * will be cut) becomes `[redacted]`; then it is cut to its field's length. `details` keys that
 * name secrets are dropped with their values, as are nested objects (a `Secret` among them),
 * functions, non-finite numbers, array items past 16, keys past 16, and keys from the end until
 * the details fit 4 KiB. An invalid `tenant`, `who.tenant` or `who.role` is dropped (an entry
 * with no valid tenant is platform-scoped, readable by the operator only). Every path touched is
 * listed in `redacted`. Left (a programming error, never a secret) only when `action` or
 * `outcome` is not one of its union's values.
 */
export const toAuditEntry = (draft: AuditDraft, fallback: { readonly id: string; readonly at: Date }): E.Either<string, AuditEntry> => {
  if (!AuditAction.is(draft.action)) return E.left('unknown audit action')
  if (!AuditOutcome.is(draft.outcome)) return E.left('unknown audit outcome')
  const redacted: string[] = []
  const note = (path: string) => {
    if (redacted.length < MAX_REDACTED_PATHS) redacted.push(redacted.length === MAX_REDACTED_PATHS - 1 ? '…' : path)
  }

  const text = (u: unknown, max: number, path: string): string | undefined => {
    if (u === undefined || u === null) return undefined
    if (typeof u !== 'string') {
      if (typeof u === 'number' || typeof u === 'boolean') return text(String(u), max, path)
      note(path)
      return undefined
    }
    const clean = u.length > max + SCAN_MARGIN ? u.slice(0, max + SCAN_MARGIN).replace(CONTROL_GLOBAL, ' ') : u.replace(CONTROL_GLOBAL, ' ')
    if (looksSecret(clean)) {
      note(path)
      return REDACTED
    }
    const cut = clean.length > max ? `${clean.slice(0, max - 1)}…` : clean
    if (cut.trim().length === 0) return undefined
    // Belt and braces: whatever the steps above missed, the codec's own test decides.
    if (!isCleanText(cut, max)) {
      note(path)
      return REDACTED
    }
    return cut
  }

  const tenantOf = (u: unknown, path: string): string | undefined => {
    if (u === undefined) return undefined
    if (AuditTenant.is(u)) return u
    note(path)
    return undefined
  }

  const scalar = (u: unknown, path: string): DetailScalar | undefined => {
    if (u === null || typeof u === 'boolean') return u
    if (typeof u === 'number') {
      if (Number.isFinite(u)) return u as DetailScalar
      note(path)
      return undefined
    }
    if (typeof u === 'string') return text(u, MAX_DETAIL_STRING, path) as AuditText | undefined
    if (validDate(u)) return text(u.toISOString(), MAX_DETAIL_STRING, path) as AuditText | undefined
    note(path)
    return undefined
  }

  const details = (u: unknown): Record<string, DetailValue> | undefined => {
    if (u === undefined || u === null) return undefined
    if (!isPlainObject(u)) {
      note('details')
      return undefined
    }
    const out: Record<string, DetailValue> = {}
    let kept = 0
    for (const k of Object.keys(u)) {
      const shown = DETAIL_KEY_RE.test(k) && !looksSecret(k) ? k : '?'
      const path = `details.${shown}`
      if (!DetailKey.is(k) || kept >= MAX_DETAIL_KEYS) {
        note(path)
        continue
      }
      let v: unknown
      try {
        v = u[k]
      } catch {
        note(path)
        continue
      }
      if (Array.isArray(v)) {
        const items: DetailScalar[] = []
        v.slice(0, MAX_DETAIL_ARRAY).forEach((item: unknown, i) => {
          const s = Array.isArray(item) ? (note(`${path}[${i}]`), undefined) : scalar(item, `${path}[${i}]`)
          if (s !== undefined) items.push(s)
        })
        if (v.length > MAX_DETAIL_ARRAY) note(`${path}[${MAX_DETAIL_ARRAY}…]`)
        out[k] = items as unknown as DetailValue
        kept++
        continue
      }
      const s = scalar(v, path)
      if (s !== undefined) {
        out[k] = s
        kept++
      }
    }
    const keys = Object.keys(out)
    while (keys.length > 0 && JSON.stringify(out).length > MAX_DETAILS_JSON) {
      const k = keys.pop() as string
      delete out[k]
      note(`details.${k}`)
    }
    return keys.length > 0 ? out : undefined
  }

  const who = draft.who as AuditDraft['who'] | undefined
  const kind = who !== undefined && ActorKind.is(who.kind) ? who.kind : (note('who.kind'), 'anonymous' as const)
  const whoId = text(who?.id, MAX_ACTOR_ID, 'who.id')
  const whoTenant = tenantOf(who?.tenant, 'who.tenant')
  const whoRole = who?.role === undefined ? undefined : Role.is(who.role) ? who.role : (note('who.role'), undefined)

  const id = typeof draft.id === 'string' && AuditId.is(draft.id) ? draft.id : (draft.id !== undefined && note('id'), fallback.id)
  const at = (validDate(draft.at) ? draft.at : (draft.at !== undefined && note('at'), fallback.at)).toISOString()
  const requestId = text(draft.requestId, MAX_REQUEST_ID, 'requestId')
  const tenant = tenantOf(draft.tenant, 'tenant')
  const target = text(draft.target, MAX_TARGET, 'target')
  const reason = text(draft.reason, MAX_REASON, 'reason')
  let d: Record<string, DetailValue> | undefined
  try {
    d = details(draft.details)
  } catch {
    note('details')
  }

  const entry = {
    id,
    at,
    ...(requestId !== undefined ? { requestId } : {}),
    who: {
      kind,
      ...(whoId !== undefined ? { id: whoId } : {}),
      ...(whoTenant !== undefined ? { tenant: whoTenant } : {}),
      ...(whoRole !== undefined ? { role: whoRole } : {}),
    },
    ...(tenant !== undefined ? { tenant } : {}),
    action: draft.action,
    ...(target !== undefined ? { target } : {}),
    outcome: draft.outcome,
    ...(reason !== undefined ? { reason } : {}),
    ...(d !== undefined ? { details: d } : {}),
    ...(redacted.length > 0 ? { redacted } : {}),
  }
  return AuditEntry.is(entry) ? E.right(entry) : E.left('audit entry failed its own codec (a defect in toAuditEntry or its fallback id/at)')
}
