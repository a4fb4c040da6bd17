import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAllSourceClient } from '../../../src/adapters/nats/client.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'

describe('NATS micro discovery', () => {
  let server: TestNatsServer
  let nc: NatsConnection
  let app: AllSource

  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({ servers: server.url })
    app = await createAllSource({ nc })
    app.serve()
  })

  afterAll(async () => {
    await app?.close()
    await nc?.close()
    await server?.stop()
  })

  const ask = async (subject: string) => JSON.parse(new TextDecoder().decode((await nc.request(subject, undefined, { timeout: 2_000 })).data))

  it('answers $SRV.PING, INFO and STATS for the allsource service', async () => {
    const ping = await ask('$SRV.PING.allsource')
    expect(ping).toMatchObject({ type: 'io.nats.micro.v1.ping_response', name: 'allsource' })
    const info = await ask(`$SRV.INFO.allsource.${ping.id}`)
    expect(info.endpoints).toEqual([{ name: 'append', subject: 'allsource.append.*.*', queue_group: 'allsource', metadata: {} }])

    const client = createAllSourceClient(nc)
    await client.append('acme', 'd-1', [{ type: 'a', payload: 1 }])
    await client.tryAppend('acme', 'd-1', [{ type: 'a', payload: 1 }], { expectedVersion: 7 })
    const stats = await ask('$SRV.STATS.allsource')
    expect(stats.type).toBe('io.nats.micro.v1.stats_response')
    expect(stats.endpoints[0]).toMatchObject({ name: 'append', num_requests: 2, num_errors: 1 })
    expect(stats.endpoints[0].last_error).toMatch(/WRONG_EXPECTED_VERSION/)
  })

  it('tells a client clearly when no processor serves appends', async () => {
    const other = createAllSourceClient(nc, { prefix: 'nobody' })
    const r = await other.tryAppend('acme', 'd-2', [{ type: 'a', payload: 1 }])
    expect(r._tag === 'Left' && r.left.code).toBe('UNAVAILABLE')
  })
})
