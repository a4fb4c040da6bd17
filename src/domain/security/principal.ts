import { ApiKeyId } from './apiKey.js'
import { Username } from './user.js'

/**
 * Principals: the one NATS subject token that names a connected identity inside its tenant. It is
 * the second token of the identity's inbox `_INBOX.<tenant>.<principal>`, the part after `:` in
 * the connection's name `<tenant>:<principal>`, and the audit `who`.
 *
 * - an API key: its keyId (12 base62 characters);
 * - a user: `u_<username>` with every `.` replaced by `~` (`u_ann~lee` for `ann.lee`);
 * - the operator acting on a tenant: `_op` (its replies under `_INBOX.<tenant>._op.…`).
 *
 * The three cannot collide: a keyId has no `_`, a user principal starts with `u_`, and `_op` is
 * neither. None contains `.`, `*`, `>`, `:` or whitespace (a username is `a–z 0–9 . _ -`), so a
 * principal is one valid subject token and the connection kicker's `<tenant>:<principal>` match is
 * exact. The mapping is one-to-one (`~` is not a username character), so {@link parsePrincipal}
 * recovers the username.
 */
export type Principal =
  | { readonly kind: 'key'; readonly keyId: ApiKeyId }
  | { readonly kind: 'user'; readonly username: Username }
  | { readonly kind: 'operator' }

/** The operator's principal in a tenant's inbox: `_INBOX.<tenant>._op.…`. */
export const OPERATOR_PRINCIPAL = '_op'

const USER_PREFIX = 'u_'

/** The principal of a user: `u_<username with '.' → '~'>`. Total for every {@link Username}. */
export const userPrincipal = (username: Username): string => `${USER_PREFIX}${username.replaceAll('.', '~')}`

/** Reads a principal token back; `undefined` for a text that is no principal (the caller refuses it). Pure, total. */
export const parsePrincipal = (text: unknown): Principal | undefined => {
  if (typeof text !== 'string') return undefined
  if (text === OPERATOR_PRINCIPAL) return { kind: 'operator' }
  if (ApiKeyId.is(text)) return { kind: 'key', keyId: text }
  if (text.startsWith(USER_PREFIX)) {
    const name = text.slice(USER_PREFIX.length)
    if (name.includes('.')) return undefined
    const username = name.replaceAll('~', '.')
    return Username.is(username) ? { kind: 'user', username } : undefined
  }
  return undefined
}
