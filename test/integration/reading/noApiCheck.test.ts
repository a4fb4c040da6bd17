import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJetStreamEventLog } from '../../../src/adapters/nats/log/jetStreamEventLog.js'
import { createQuery } from '../../../src/adapters/nats/reading/query.js'
import { createSubscriptions } from '../../../src/adapters/nats/reading/subscriptions.js'
import type { StreamId, TenantId } from '../../../src/domain/streams/ids.js'
import { launchNatsServer, type RunningNatsServer } from '../../../src/main/natsServer/launchNatsServer.js'
import { cleanUp } from '../../support/cleanUp.js'

// A server without JetStream answers every JetStream API request "no responders", as a cluster
// without a meta leader can for seconds. Adapters made at start-up used to send an API check at
// once and keep its promise: its rejection went unobserved (a fatal unhandled rejection in
// `npm start`, nats.js's TimeoutError during an election) and failed every later call.
describe('adapters made while JetStream does not answer', () => {
  let dir: string | undefined
  let server: RunningNatsServer | undefined
  let nc: NatsConnection | undefined
  const unhandled: unknown[] = []
  const onUnhandled = (e: unknown) => unhandled.push(e)
  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled)
    dir = await mkdtemp(join(tmpdir(), 'allsource-noapi-'))
    server = await launchNatsServer({ port: 0, storeDir: dir, jetstream: false })
    nc = await connect({ servers: server.url })
  })
  afterAll(() =>
    cleanUp(
      () => process.off('unhandledRejection', onUnhandled),
      () => nc?.close(),
      () => server?.stop(),
      () => dir !== undefined && rm(dir, { recursive: true, force: true }),
    ),
  )

  it('leave no rejected promise behind, and fail only the calls made while it lasts', async () => {
    if (nc === undefined) throw new Error('no connection')
    const log = createJetStreamEventLog(nc)
    createQuery(nc, { prefix: 'allsource', index: { lookup: () => Promise.resolve(undefined), checkpoint: () => Promise.resolve(0) } })
    createSubscriptions(nc)
    // The no-responders answers come back before the flush's PONG; one more turn lets rejections surface.
    await nc.flush()
    await new Promise((r) => setTimeout(r, 50))
    expect(unhandled).toEqual([])
    await expect(log.readHead('acme' as TenantId, 's' as StreamId)).rejects.toThrow()
    log.close()
  })
})
