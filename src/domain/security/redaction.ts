/**
 * What counts as secret in an audit entry: the recognisers behind the audit log's guarantee that
 * no entry holds a credential. Two kinds of test:
 * - {@link looksSecret}: a string that contains something shaped like a credential (an API key
 *   `as_…`, a refresh token `asr_…`, a JWT `eyJ…`, an nkey seed, an argon2 hash, a PEM private
 *   key, an `Authorization` value, or `password=…`-style text);
 * - {@link isSecretName}: a field name that says its value is secret (`password`, `secret`,
 *   `token`, `key`, `apiKey`, `hash`, …) whatever the value looks like.
 * Both err on the side of redacting: a false positive costs a `[redacted]` in a log line, a false
 * negative a leaked credential.
 */

const SECRET_PATTERNS: readonly RegExp[] = [
  // An API key or a fragment of one: `as_` not glued to a word, then 8+ key characters…
  /(?:^|[^A-Za-z0-9])as_[A-Za-z0-9_]{8,}/,
  // …or key-shaped (`as_<12 base62>_<secret…>`) even when glued to a word.
  /as_[A-Za-z0-9]{12}_[A-Za-z0-9]{4,}/,
  // A refresh token.
  /(?:^|[^A-Za-z0-9])asr_[A-Za-z0-9_-]{8,}/,
  /asr_[A-Za-z0-9_-]{16,}/,
  // A JWT (or any base64url JSON object: `{"` encodes as `eyJ`), with or without its dots.
  /eyJ[A-Za-z0-9_-]{8,}/,
  // An nkey seed (`SU…` user, `SA…` account, `SO…` operator, …): 58 base32 characters.
  /S[ACNOPUX][A-Z2-7]{40,}/,
  // A password hash.
  /\$argon2(?:id|i|d)\$|\$2[aby]\$\d\d\$/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  // An Authorization header value.
  /\b(?:bearer|apikey|basic)\s+[A-Za-z0-9._~+/=-]{16,}/i,
  // `password=…`, `secret: …`, `token=…` in free text.
  /\b(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key)\s*[=:]\s*\S/i,
]

/** How far past the kept length a string is scanned, so a credential cut by truncation is still seen. */
export const SCAN_MARGIN = 128

/** Whether `s` contains something shaped like a credential. Scans at most the first `limit` characters (all by default). */
export const looksSecret = (s: string, limit = Number.POSITIVE_INFINITY): boolean => {
  const text = s.length > limit ? s.slice(0, limit) : s
  return SECRET_PATTERNS.some((re) => re.test(text))
}

const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'pass',
  'pwd',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'tokens',
  'credential',
  'credentials',
  'pepper',
  'seed',
  'nkey',
  'private',
  'privkey',
  'authorization',
  'auth',
  'cookie',
  'cookies',
  'key',
  'keys',
  'apikey',
  'hash',
  'signature',
  'sig',
  'otp',
  'jwt',
  'bearer',
  'material',
])

/** `key`, `token` and `auth` followed by one of these name something public: `keyId`, `tokenType`, `authMethod`. */
const PUBLIC_AFTER = new Set(['id', 'ids', 'name', 'names', 'count', 'type', 'role', 'prefix', 'method', 'kind', 'expires', 'expiry', 'at', 'outcome'])
const QUALIFIABLE = new Set(['key', 'keys', 'token', 'tokens', 'auth'])

/** The words of a field name: `refreshToken` → refresh, token; `api_key` → api, key; `APIKey` → api, key. */
const wordsOf = (name: string): string[] =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.toLowerCase())

/**
 * Whether a field called `name` holds, or may hold, secret material: any word of it is a secret
 * word (`password`, `secret`, `token`, `key`, `hash`, `seed`, …), except `key`/`token`/`auth`
 * followed by a word that names something public (`keyId`, `tokenType`, `authMethod`).
 */
export const isSecretName = (name: string): boolean => {
  if (looksSecret(name)) return true
  const words = wordsOf(name)
  return words.some((w, i) => SECRET_WORDS.has(w) && !(QUALIFIABLE.has(w) && PUBLIC_AFTER.has(words[i + 1] ?? '')))
}
