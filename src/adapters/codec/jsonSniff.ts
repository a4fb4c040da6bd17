/**
 * Tells JSON bodies from msgpack ones when a sender left out `Content-Type`.
 *
 * A body whose first non-whitespace byte is `{` can never be a valid AllSource msgpack request or
 * event body: in msgpack, 0x7b is the positive fixint 123, and every request and event body is a
 * map. Such a body is read as JSON. Everything else is read as the header says (msgpack when no
 * header is set).
 */

const JSON_TYPE = 'application/json'

const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d

/** True when the first non-whitespace byte is `{`: the body can only be a JSON object. */
export const looksLikeJsonObject = (bytes: Uint8Array): boolean => {
  for (const b of bytes) {
    if (!isSpace(b)) return b === 0x7b
  }
  return false
}

/** The media type of a body: the `Content-Type` header when it names JSON, else sniffed. */
export const mediaTypeOf = (contentType: string | undefined, bytes: Uint8Array): 'json' | 'msgpack' => {
  if (contentType !== undefined && contentType.split(';')[0]?.trim().toLowerCase() === JSON_TYPE) return 'json'
  if (contentType !== undefined && contentType.trim() !== '') return 'msgpack'
  return looksLikeJsonObject(bytes) ? 'json' : 'msgpack'
}
