import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import { ApiKeyRecord } from '../../domain/security/apiKey.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * A stored value that is not a valid API key record. `message` says why by the field's path and
 * expected type only: it never quotes the value (which could hold a hash).
 */
export interface CorruptApiKeyRecord {
  readonly _tag: 'CorruptApiKeyRecord'
  /** The key it was stored under. */
  readonly key: string
  readonly revision: number
  readonly message: string
}

/** An API key record as stored: UTF-8 JSON of its codec's output. */
export const encodeApiKeyJson = (rec: ApiKeyRecord): Uint8Array => encoder.encode(JSON.stringify(ApiKeyRecord.encode(rec)))

const describe = (errors: t.Errors): string => {
  const first = errors[0]
  if (first === undefined) return 'not an API key record'
  const path = first.context
    .map((c) => c.key)
    .filter((k) => k !== '' && !/^\d+$/.test(k))
    .join('.')
  const expected = first.context[first.context.length - 1]?.type.name ?? 'an API key record'
  return `${path === '' ? 'the record' : path} is not ${expected}`
}

/**
 * Decodes a stored record: UTF-8, JSON, the `ApiKeyRecord` codec, and that it is the record of
 * `keyId`. Never throws. The reason never holds any part of the value: V8's JSON errors quote the
 * input, so a parse failure is reported without its message.
 */
export const decodeApiKeyJson = (key: string, keyId: string, revision: number, bytes: Uint8Array): E.Either<CorruptApiKeyRecord, ApiKeyRecord> => {
  const corrupt = (message: string): E.Either<CorruptApiKeyRecord, ApiKeyRecord> => E.left({ _tag: 'CorruptApiKeyRecord', key, revision, message })
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch {
    return corrupt('not UTF-8 JSON')
  }
  const r = ApiKeyRecord.decode(json)
  if (E.isLeft(r)) return corrupt(describe(r.left))
  return r.right.keyId === keyId ? r : corrupt(`the record is of another keyId than ${keyId}`)
}
