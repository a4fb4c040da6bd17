import { randomFillSync } from 'node:crypto'

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
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
  return (
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    HEX[(lo >>> 24) & 0xff]! +
    HEX[(lo >>> 16) & 0xff]! +
    '-' +
    HEX[(lo >>> 8) & 0xff]! +
    HEX[lo & 0xff]! +
    '-' +
    HEX[0x70 | (counter >>> 8)]! +
    HEX[counter & 0xff]! +
    '-' +
    HEX[0x80 | (b[r]! & 0x3f)]! +
    HEX[b[r + 1]!]! +
    '-' +
    HEX[b[r + 2]!]! +
    HEX[b[r + 3]!]! +
    HEX[b[r + 4]!]! +
    HEX[b[r + 5]!]! +
    HEX[b[r + 6]!]! +
    HEX[b[r + 7]!]!
  )
}
