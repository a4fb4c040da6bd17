/**
 * Refuses bodies nested too deeply before anything recursive (a decoder, a validator, an encoder)
 * touches them: a 10,000-level body would otherwise overflow the stack. The scan is iterative and
 * reads the raw bytes once; it never throws.
 *
 * Every door that decodes a body calls {@link scanNesting} first: the request endpoints (through
 * `service/wireCodec.ts` `decodeBody`) and ingest.
 *
 * For msgpack it also refuses extension types other than the timestamp (-1): msgpackr would
 * otherwise read some of them (Set, Error, RegExp, references, bundled strings, 0x42 BigInt) as
 * JavaScript objects, and some of those nest without being counted here.
 */

/** The deepest nesting of maps/objects and arrays a body may have; the request envelope uses 3. */
export const MAX_NESTING_DEPTH = 100

export type NestingScan = { readonly ok: true } | { readonly ok: false; readonly message: string }

const OK: NestingScan = { ok: true }
const tooDeep = (max: number): NestingScan => ({ ok: false, message: `body is nested deeper than ${max} levels` })

/** Scans a JSON text: counts `{`/`[` outside strings. Malformed text is left to the parser. */
const scanJson = (bytes: Uint8Array, max: number): NestingScan => {
  let depth = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    if (inString) {
      if (b === 0x5c) i++ // backslash: skip the escaped byte
      else if (b === 0x22) inString = false
    } else if (b === 0x22) inString = true
    else if (b === 0x7b || b === 0x5b) {
      if (++depth > max) return tooDeep(max)
    } else if (b === 0x7d || b === 0x5d) depth--
  }
  return OK
}

const u16 = (b: Uint8Array, i: number): number => ((b[i] as number) << 8) | (b[i + 1] as number)
const u32 = (b: Uint8Array, i: number): number => ((b[i] as number) * 0x1000000) + (((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number))

/**
 * Scans msgpack: a stack of "items left" per open map/array. Truncated or malformed input ends
 * the scan with `ok` (the decoder refuses it with its own message).
 */
const scanMsgpack = (b: Uint8Array, max: number): NestingScan => {
  const open: number[] = []
  let i = 0
  while (i < b.length) {
    const t = b[i] as number
    let children = 0
    let container = false
    let skip = 0 // bytes after the type byte
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) skip = 0
    else if (t <= 0x8f) ((children = (t & 0x0f) * 2), (container = true))
    else if (t <= 0x9f) ((children = t & 0x0f), (container = true))
    else if (t <= 0xbf) skip = t & 0x1f
    else if (t === 0xc4 || t === 0xd9) skip = 1 + (b[i + 1] ?? 0)
    else if (t === 0xc5 || t === 0xda) skip = 2 + u16(b, i + 1)
    else if (t === 0xc6 || t === 0xdb) skip = 4 + u32(b, i + 1)
    else if (t === 0xca || t === 0xce || t === 0xd2) skip = 4
    else if (t === 0xcb || t === 0xcf || t === 0xd3) skip = 8
    else if (t === 0xcc || t === 0xd0) skip = 1
    else if (t === 0xcd || t === 0xd1) skip = 2
    else if (t === 0xdc) ((children = u16(b, i + 1)), (skip = 2), (container = true))
    else if (t === 0xdd) ((children = u32(b, i + 1)), (skip = 4), (container = true))
    else if (t === 0xde) ((children = u16(b, i + 1) * 2), (skip = 2), (container = true))
    else if (t === 0xdf) ((children = u32(b, i + 1) * 2), (skip = 4), (container = true))
    else if (t >= 0xd4 && t <= 0xd8) {
      const type = b[i + 1]
      if (type !== undefined && type !== 0xff) return { ok: false, message: `msgpack extension type ${type} is not supported (only the timestamp, -1)` }
      skip = 1 + (1 << (t - 0xd4))
    } else if (t >= 0xc7 && t <= 0xc9) {
      const lenBytes = 1 << (t - 0xc7)
      const type = b[i + 1 + lenBytes]
      if (type !== undefined && type !== 0xff) return { ok: false, message: `msgpack extension type ${type} is not supported (only the timestamp, -1)` }
      skip = lenBytes + 1 + (lenBytes === 1 ? (b[i + 1] ?? 0) : lenBytes === 2 ? u16(b, i + 1) : u32(b, i + 1))
    } else return OK // 0xc1: never used; the decoder refuses it
    i += 1 + skip
    if (container && open.length + 1 > max) return tooDeep(max)
    if (children > 0) {
      open.push(children)
      continue
    }
    // A complete value: close every container it completes.
    while (open.length > 0) {
      const top = open.length - 1
      open[top] = (open[top] as number) - 1
      if ((open[top] as number) > 0) break
      open.pop()
    }
  }
  return OK
}

/**
 * Checks a raw body for nesting deeper than `maxDepth` (and, for msgpack, unsupported extension
 * types) without decoding it. Call it before decoding; a `false` result is a `BAD_REQUEST`.
 */
export const scanNesting = (format: 'json' | 'msgpack', bytes: Uint8Array, maxDepth: number = MAX_NESTING_DEPTH): NestingScan =>
  format === 'json' ? scanJson(bytes, maxDepth) : scanMsgpack(bytes, maxDepth)
