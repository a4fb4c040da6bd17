import { connect, errors, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createInboxRequester } from '../../../src/adapters/nats/service/inboxRequester.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'

describe('the client requester (one inbox subscription, replies matched by token)', () => {
  let server: TestNatsServer
  let nc: NatsConnection

  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({ servers: server.url })
    // Answers the request's own bytes back, after a delay named by its first byte (ms).
    nc.subscribe('echo', { callback: (_e, m) => void setTimeout(() => m.respond(m.data), m.data[0] ?? 0) })
    await nc.flush()
  })
  afterAll(async () => {
    await nc.close()
    await server.stop()
  })

  it('gives each concurrent request its own reply, whatever order they come back in', async () => {
    const r = createInboxRequester(nc)
    const delays = [30, 0, 20, 10, 5]
    const replies = await Promise.all(delays.map((d, i) => r.request('echo', Uint8Array.of(d, i), 5_000)))
    expect(replies.map((m) => [...m.data])).toEqual(delays.map((d, i) => [d, i]))
  })

  it('rejects as nc.request does: no responders, and a timeout', async () => {
    const r = createInboxRequester(nc)
    await expect(r.request('nobody.here', Uint8Array.of(1), 5_000)).rejects.toBeInstanceOf(errors.NoRespondersError)
    await expect(r.request('echo', Uint8Array.of(200), 20)).rejects.toBeInstanceOf(errors.TimeoutError)
    // The late reply of the timed-out request is dropped; the next request gets its own.
    expect([...(await r.request('echo', Uint8Array.of(0, 7), 5_000)).data]).toEqual([0, 7])
  })

  it('rejects pending and later requests with ClosedConnectionError once the connection closes', async () => {
    const own = await connect({ servers: server.url })
    const r = createInboxRequester(own)
    const pending = r.request('echo', Uint8Array.of(200), 5_000)
    await own.flush()
    await own.close()
    await expect(pending).rejects.toBeInstanceOf(errors.ClosedConnectionError)
    await expect(r.request('echo', Uint8Array.of(0), 5_000)).rejects.toBeInstanceOf(errors.ClosedConnectionError)
  })
})
