import type { MsgHdrs } from '@nats-io/transport-node'

type Match = Parameters<MsgHdrs['get']>[1]

/** A header name: printable ASCII except the colon (RFC 822, as NATS requires). */
const NAME = /^[!-9;-~]+$/
const LINE_BREAK = /[\r\n]/

const canonical = (k: string): string => k.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())

const sameKey = (a: string, b: string, match: Match): boolean => {
  if (match === 'canonical') return canonical(a) === canonical(b)
  if (match === 'insensitive') return a.toLowerCase() === b.toLowerCase()
  return a === b
}

/**
 * Headers that AllSource writes, for messages it publishes on hot paths (commits, acks). nats.js
 * builds its own header sets key by key (canonicalising each name, searching the keys, compiling a
 * regular expression per value) and then formats them to a string: for a six-header commit that
 * was several kilobytes of garbage per append. This set keeps `name, value` pairs in order and
 * formats them to wire bytes once, on first use.
 *
 * It implements `MsgHdrs` in full, plus `encode()`, which is what nats.js's publish calls on a
 * header set (the same method its own implementation has); an integration test reads headers
 * written this way back from the server. Names are kept as given (use canonical names).
 */
export class WireHeaders implements MsgHdrs {
  private readonly pairs: string[] = []
  private bytes: Uint8Array | undefined
  readonly code = 0
  readonly description = ''
  readonly hasError = false
  readonly status = ''

  /** Builds a header set from `name, value` pairs. */
  static of(...pairs: readonly (readonly [string, string])[]): WireHeaders {
    const h = new WireHeaders()
    for (const [k, v] of pairs) h.append(k, v)
    return h
  }

  append(k: string, v: string): void {
    if (!NAME.test(k)) throw new TypeError(`invalid header name ${JSON.stringify(k)}`)
    if (LINE_BREAK.test(v)) throw new TypeError(`header ${k}: values cannot contain \\r or \\n`)
    this.pairs.push(k, v.trim())
    this.bytes = undefined
  }

  set(k: string, v: string, match: Match = 'exact'): void {
    this.delete(k, match)
    this.append(k, v)
  }

  get(k: string, match: Match = 'exact'): string {
    for (let i = 0; i < this.pairs.length; i += 2) if (sameKey(this.pairs[i] as string, k, match)) return this.pairs[i + 1] as string
    return ''
  }

  last(k: string, match: Match = 'exact'): string {
    const vs = this.values(k, match)
    return vs[vs.length - 1] ?? ''
  }

  has(k: string, match: Match = 'exact'): boolean {
    for (let i = 0; i < this.pairs.length; i += 2) if (sameKey(this.pairs[i] as string, k, match)) return true
    return false
  }

  values(k: string, match: Match = 'exact'): string[] {
    const out: string[] = []
    for (let i = 0; i < this.pairs.length; i += 2) if (sameKey(this.pairs[i] as string, k, match)) out.push(this.pairs[i + 1] as string)
    return out
  }

  keys(): string[] {
    const out: string[] = []
    for (let i = 0; i < this.pairs.length; i += 2) if (!out.includes(this.pairs[i] as string)) out.push(this.pairs[i] as string)
    return out
  }

  delete(k: string, match: Match = 'exact'): void {
    for (let i = this.pairs.length - 2; i >= 0; i -= 2) if (sameKey(this.pairs[i] as string, k, match)) this.pairs.splice(i, 2)
    this.bytes = undefined
  }

  *[Symbol.iterator](): Iterator<[string, string[]]> {
    for (const k of this.keys()) yield [k, this.values(k)]
  }

  /** The header block as NATS sends it: `NATS/1.0`, one `Name: value` line per pair, a blank line. */
  encode(): Uint8Array {
    if (this.bytes === undefined) {
      let s = 'NATS/1.0\r\n'
      for (let i = 0; i < this.pairs.length; i += 2) s += `${this.pairs[i] as string}: ${this.pairs[i + 1] as string}\r\n`
      // Buffer.from is a Uint8Array, and for strings this short several times cheaper than TextEncoder.
      this.bytes = Buffer.from(`${s}\r\n`, 'utf8')
    }
    return this.bytes
  }

  /** Size of the header block on the wire, in bytes. */
  get byteLength(): number {
    return this.encode().length
  }
}
