import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { pack } from 'msgpackr'
import { ensureIngestStreams } from '../../src/adapters/nats/ingest/ingestStreams.js'
import { createAllSource } from '../../src/main/allSource.js'
import { type BenchServer, payload } from './common.js'

/**
 * Durable ingest end to end: `events` single-event messages published to 1,000 ingest subjects
 * (batches of publishes in flight) while the processor runs; events per second from the first
 * publish until every one is appended and its ingest message acked.
 */
export const ingest = async (b: BenchServer, events: number, streams: number): Promise<number> => {
  await ensureIngestStreams(await jetstreamManager(b.nc))
  const app = await createAllSource({ nc: b.nc })
  const processor = await app.startIngest()
  const js = jetstream(b.nc)
  const t0 = performance.now()
  const batch = 500
  for (let i = 0; i < events; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, events - i) }, (_, k) => {
        const n = i + k
        return js.publish(`allsource.ingest.bench.s-${n % streams}`, pack({ type: 'thing.happened', payload: payload(n, n % streams) }))
      }),
    )
  }
  while (processor.appended < events) await new Promise((r) => setTimeout(r, 5))
  const rate = events / ((performance.now() - t0) / 1000)
  await app.close()
  return rate
}
