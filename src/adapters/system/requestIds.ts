import { randomBytes } from 'node:crypto'

// A random prefix per process and a counter: unique across processes in practice, and cheap
// enough to make one per request (no crypto call, one short string).
const prefix = randomBytes(6).toString('base64url')
let counter = 0

/**
 * A fresh request id: `<12 random base64url chars per process>-<counter in base 36>`, 1–128
 * printable ASCII characters without spaces like every request id.
 */
export const newRequestId = (): string => `${prefix}-${(counter++).toString(36)}`
