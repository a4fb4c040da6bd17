import { jetstreamManager } from '@nats-io/jetstream'
import { describe, expect, it } from 'vitest'
import { openEventIdIndex, startEventIdIndexer } from '../../../src/adapters/nats/reading/eventIdIndex.js'
import { writeCommitsToLog } from '../../support/logWriter.js'
import { waitFor } from '../../support/projections.js'
import { startRestartableServer } from '../../support/restartableServer.js'

describe('event-id indexer across a nats-server restart', () => {
  it('stopped mid-index and started again on the same store, it catches up and every id maps to its commit', async () => {
    const server = await startRestartableServer()
    const { nc } = server
    try {
      await writeCommitsToLog(nc, 6_000)
      const indexer = await startEventIdIndexer(nc, 'allsource')
      const index = await openEventIdIndex(nc)
      await waitFor(async () => (await index.checkpoint()) > 500, 60_000, 'some progress')
      expect(await index.checkpoint()).toBeLessThan(6_000) // the outage lands mid-index
      await server.restart()
      const last = async () => (await (await jetstreamManager(nc)).streams.info('ALLSOURCE_EVENTS')).state.last_seq
      await waitFor(
        async () => {
          try {
            return (await index.checkpoint()) === (await last())
          } catch {
            return false // the server is still coming back
          }
        },
        120_000,
        'the index caught up',
      )
      // Commit n is at offset n + 1 and holds events e-n-0…e-n-3 (see writeCommitsToLog).
      for (let n = 0; n < 6_000; n += 37) for (const k of [0, 3]) expect(await index.lookup('acme', `e-${n}-${k}`)).toBe(n + 1)
      await indexer.stop()
    } finally {
      await server.close()
    }
  }, 240_000)
})
