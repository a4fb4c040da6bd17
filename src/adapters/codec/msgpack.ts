import { Packr, Unpackr } from 'msgpackr'

// Plain maps only (no msgpackr records), so any msgpack library in any language can read the
// log and the replies. Dates travel as the msgpack timestamp extension (-1).
const packr = new Packr({ useRecords: false, moreTypes: false })
const unpackr = new Unpackr({ useRecords: false, moreTypes: false })

/** Encodes a value as standard msgpack. */
export const encodeMsgpack = (value: unknown): Uint8Array => packr.pack(value)

/** Decodes standard msgpack; throws on malformed input (callers turn that into BAD_REQUEST). */
export const decodeMsgpack = (bytes: Uint8Array): unknown => {
  // 0xc1 is never used in msgpack; msgpackr reads it as an internal marker object instead.
  if (bytes[0] === 0xc1) throw new Error('0xc1 is not a msgpack value')
  return unpackr.unpack(bytes)
}
