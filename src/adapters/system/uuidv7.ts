import { randomFillSync } from 'node:crypto'

const HEX_DIGITS = Array.from('0123456789abcdef', (c) => c.charCodeAt(0))
/** The id is formatted here, then read out as one flat string (one allocation per id). */
const text = Buffer.alloc(36, '-')
const POOL_SIZE = 4096
const pool = new Uint8Array(POOL_SIZE)
let poolAt = POOL_SIZE
let lastMs = -1
let counter = 0

const random = (n: number): number => {
  if (poolAt + n > POOL_SIZE) {
    randomFillSync(pool)
    poolAt = 0
  }
  const at = poolAt
  poolAt += n
  return at
}

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit counter that keeps ids minted in
 * the same millisecond by this process strictly increasing (method 1), then 62 random bits.
 */
export const uuidv7 = (): string => {
  let ms = Date.now()
  if (ms <= lastMs) {
    ms = lastMs
    counter++
    if (counter > 0xfff) {
      // Counter exhausted within one millisecond: borrow the next millisecond.
      ms = ++lastMs
      counter = 0
    }
  } else {
    lastMs = ms
    counter = 0
  }
  const r = random(8)
  const b = pool
  const hi = Math.floor(ms / 0x100000000)
  const lo = ms >>> 0
  hex(0, (hi >>> 8) & 0xff)
  hex(2, hi & 0xff)
  hex(4, (lo >>> 24) & 0xff)
  hex(6, (lo >>> 16) & 0xff)
  hex(9, (lo >>> 8) & 0xff)
  hex(11, lo & 0xff)
  hex(14, 0x70 | (counter >>> 8))
  hex(16, counter & 0xff)
  hex(19, 0x80 | (b[r]! & 0x3f))
  hex(21, b[r + 1]!)
  for (let i = 0; i < 6; i++) hex(24 + 2 * i, b[r + 2 + i]!)
  return text.toString('latin1', 0, 36)
}

const hex = (at: number, byte: number): void => {
  text[at] = HEX_DIGITS[byte >>> 4]!
  text[at + 1] = HEX_DIGITS[byte & 0xf]!
}
