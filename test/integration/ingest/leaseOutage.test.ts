import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { pack } from 'msgpackr'
import { afterAll, describe, expect, it } from 'vitest'
import { ensureIngestStreams } from '../../../src/adapters/nats/ingest/ingestStreams.js'
import { LEASE_BUCKET } from '../../../src/adapters/nats/ingest/leasedIngest.js'
import { openProjectionCatalog } from '../../../src/adapters/nats/projections/projectionControl.js'
import { eventCounter } from '../../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import { createAllSource } from '../../../src/main/allSource.js'
import { waitFor } from '../../support/projections.js'
import { type RestartableServer, startRestartableServer } from '../../support/restartableServer.js'

describe('leases survive NATS errors', () => {
  const servers: RestartableServer[] = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  it('nats-server restarts while ingest and a projection wait for leases another owner holds: both take over after the restart and the expiry', async () => {
    const srv = await startRestartableServer()
    servers.push(srv)
    const { nc } = srv
    await ensureIngestStreams(await jetstreamManager(nc))
    await jetstream(nc).publish('allsource.ingest.acme.lease-1', pack({ type: 'e', payload: 1 }))
    // Another owner holds both leases; it has gone silent, so each expires 4 s after a waiter first sees it.
    const held = JSON.stringify({ owner: 'other', ttlMs: 4_000 })
    await (await new Kvm(nc).create(LEASE_BUCKET, { history: 1 })).put('ingest', held)
    await (await openProjectionCatalog(nc)).kv.put(`${eventCounter.name}.lease`, held)

    const app = await createAllSource({ nc, projectionOptions: { leaseTtlMs: 500, owner: 'me' }, warn: () => undefined })
    const ingest = await app.startIngest({ lease: { owner: 'me', ttlMs: 500 } })
    const [projection] = await app.startProjections([eventCounter] as ProjectionDefinition<unknown>[])
    expect(ingest.active).toBe(false)
    expect(projection?.status().state).toBe('standby')

    await srv.restart(1_500)
    await waitFor(() => ingest.active && ingest.appended === 1, 30_000, 'ingest to take over and append')
    await projection?.until((s) => s.state === 'live' && s.checkpoint >= 1, 30_000)
    // (Failed polls during the outage are logged as `ingest lease ingest: …; retrying`.)
    await app.close()
  }, 60_000)

  it('nats-server restarts while ingest and a projection hold their leases: a failed renewal is retried, and neither lets go', async () => {
    const srv = await startRestartableServer()
    servers.push(srv)
    const { nc } = srv
    const states: string[] = []
    // Renewals every 2 s: the 2.1 s outage catches at least one; the 6 s lease outlives the outage.
    const app = await createAllSource({ nc, projectionOptions: { leaseTtlMs: 6_000, owner: 'me', onStateChange: (s) => states.push(s.state) }, warn: () => undefined })
    const changes: boolean[] = []
    const ingest = await app.startIngest({ lease: { owner: 'me', ttlMs: 6_000, onChange: (a) => changes.push(a) } })
    const [projection] = await app.startProjections([eventCounter] as ProjectionDefinition<unknown>[])
    await projection?.until((s) => s.state === 'live', 30_000)
    expect(changes).toEqual([true])

    const before = states.length
    await srv.restart(2_100)
    // Published once JetStream answers again (msgID: a retry after a lost ack lands once).
    await waitFor(
      () => jetstream(nc).publish('allsource.ingest.acme.held-1', pack({ type: 'e', payload: 1 }), { msgID: 'held-1', timeout: 1_000 }).then(() => true, () => false),
      30_000,
      'JetStream after the restart',
    )
    await waitFor(() => ingest.appended === 1, 30_000, 'ingest to append')
    await projection?.until((s) => s.state === 'live' && s.checkpoint >= 1, 30_000)
    expect(changes).toEqual([true])
    expect(states.slice(before)).not.toContain('standby')
    await app.close()
  }, 60_000)
})
