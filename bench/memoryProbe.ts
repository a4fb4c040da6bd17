import { connect } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { createAllSource } from '../src/main/allSource.js'

/**
 * Touches `streams` distinct streams through the library (default resident cap) in a process of
 * its own, then prints its RSS and the resident actor count as one JSON line.
 */
const [url, streamsArg] = process.argv.slice(2)
const nc = await connect({ servers: url })
const app = await createAllSource({ nc })
const streams = Number(streamsArg)
let next = 0
await Promise.all(
  Array.from({ length: 500 }, async () => {
    while (next < streams) {
      const i = next++
      const r = await app.append('bench', `m-${i}`, [{ type: 'touched', payload: { i } }])
      if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
    }
  }),
)
global.gc?.()
const mem = process.memoryUsage()
process.stdout.write(`${JSON.stringify({ rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, resident: app.supervisor.resident })}\n`)
await app.close()
await nc.close()
