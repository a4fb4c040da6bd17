import { headers, type MsgHdrs } from '@nats-io/transport-node'

/** What a dead letter says about why it is there. */
export interface DeadLetterReason {
  readonly code: string
  readonly error: string
  readonly ingestSubject: string
  readonly ingestSequence: number
  readonly attempts: number
}

/** Headers this processor adds to a dead letter; redrive strips them. */
export const DEAD_LETTER_HEADERS = ['AllSource-Error-Code', 'AllSource-Error', 'AllSource-Ingest-Subject', 'AllSource-Ingest-Sequence', 'AllSource-Attempts']

/** Longest `AllSource-Error` kept, in UTF-8 bytes (longer ones end in `…`). */
export const MAX_ERROR_BYTES = 1_024

const utf8 = new TextEncoder()
const bytes = (s: string): number => utf8.encode(s).length

/** Cuts `s` to at most `max` UTF-8 bytes, on a code point boundary, marking a cut with `…`. */
export const truncateUtf8 = (s: string, max: number): string => {
  if (bytes(s) <= max) return s
  if (max < 3) return ''
  let out = ''
  let used = 0
  for (const c of s) {
    const n = bytes(c)
    if (used + n > max - 3) break
    out += c
    used += n
  }
  return `${out}…`
}

/** Bytes `h` takes on the wire (`NATS/1.0\r\n`, one `key: value\r\n` per value, `\r\n`). */
export const headerBytes = (entries: readonly (readonly [string, string])[]): number =>
  entries.length === 0 ? 0 : 12 + entries.reduce((n, [k, v]) => n + bytes(k) + 2 + bytes(v) + 2, 0)

/**
 * The headers of a dead letter: the original ones, then the reason, so that headers and body fit
 * in `budget` bytes (the server's max_payload minus the body). The body is never cut. When they
 * do not fit, the error text is shortened first, then the original headers other than
 * `Content-Type` are left out, then `AllSource-Ingest-Subject` (the DLQ subject still names the
 * stream), so a dead-lettering never fails for its size. `extra` are headers the publish adds
 * (`Nats-Msg-Id`), counted but not returned.
 */
export const deadLetterHeaders = (original: MsgHdrs | undefined, r: DeadLetterReason, budget: number, extra: readonly (readonly [string, string])[] = []): MsgHdrs => {
  const own = new Set(DEAD_LETTER_HEADERS.map((k) => k.toLowerCase()))
  const kept: [string, string][] = []
  for (const [k, vs] of original ?? []) if (!own.has(k.toLowerCase()) && !k.toLowerCase().startsWith('nats-')) for (const v of vs) kept.push([k, v])
  const contentType = kept.filter(([k]) => k.toLowerCase() === 'content-type')
  const error = r.error.replace(/[\r\n]+/g, ' ')
  const fixed = (subject: boolean): [string, string][] => [
    ['AllSource-Error-Code', r.code],
    ...(subject ? [['AllSource-Ingest-Subject', r.ingestSubject] as [string, string]] : []),
    ['AllSource-Ingest-Sequence', String(r.ingestSequence)],
    ['AllSource-Attempts', String(r.attempts)],
  ]
  const attempt = (base: [string, string][]): [string, string][] | undefined => {
    const room = budget - headerBytes([...base, ...extra, ['AllSource-Error', '']])
    if (room < 0) return undefined
    return [...base, ['AllSource-Error', truncateUtf8(error, Math.min(MAX_ERROR_BYTES, room))]]
  }
  const chosen =
    attempt([...kept, ...fixed(true)]) ??
    attempt([...contentType, ...fixed(true)]) ??
    attempt([...contentType, ...fixed(false)]) ??
    fixed(false)
  const h = headers()
  for (const [k, v] of chosen) h.append(k, v)
  return h
}
