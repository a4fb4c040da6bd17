import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { openEventIdIndex, startEventIdIndexer } from '../../../src/adapters/nats/eventIdIndex.js'
import { findNatsServer } from '../../../src/main/natsServer/findNatsServer.js'
import { freePort, launchNatsServer } from '../../../src/main/natsServer/launchNatsServer.js'
import { writeCommitsToLog } from '../../support/logWriter.js'
import { waitFor } from '../../support/projections.js'

describe('event-id indexer across a nats-server restart', () => {
  it('stopped mid-index and started again on the same store, it catches up and every id maps to its commit', async () => {
    const binary = (await findNatsServer()).path
    const dir = await mkdtemp(join(tmpdir(), 'allsource-test-'))
    const port = await freePort()
    let server = await launchNatsServer({ binary, port, storeDir: join(dir, 'store') })
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
    try {
      await writeCommitsToLog(nc, 6_000)
      const indexer = await startEventIdIndexer(nc, 'allsource')
      const index = await openEventIdIndex(nc)
      await waitFor(async () => (await index.checkpoint()) > 500, 60_000, 'some progress')
      expect(await index.checkpoint()).toBeLessThan(6_000) // the outage lands mid-index
      await server.stop()
      await new Promise((r) => setTimeout(r, 500))
      server = await launchNatsServer({ binary, port, storeDir: join(dir, 'store') })
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
      await nc.close()
      await server.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }, 240_000)
})
