import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it, onTestFinished } from 'vitest'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import type { StreamService } from '../../../src/adapters/nats/service/streamService.js'
import { cleanUp } from '../../support/cleanUp.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'

/** Requests queued on the serving socket ahead of the append: far more than the processor reads while one append round-trips. */
const FLOOD = 100_000
/** Not a msgpack value: every flood request is answered BAD_REQUEST (cheaply), none is appended. */
const GARBAGE = new Uint8Array([0xc1])

interface Processor {
  readonly nc: NatsConnection
  readonly logNc: NatsConnection | undefined
  readonly app: AllSource
  readonly service: StreamService
}

/**
 * Queues FLOOD append requests on the processor's serving socket (published on that connection
 * itself, so the server routes every one of them to it before it reads the append's publish),
 * then appends one commit through the library to a stream not loaded yet (a load, a publish, an
 * ack): how it was answered, and how many of the flood's requests the processor had read then.
 */
const appendBehindFlood = async (p: Processor, stream: string): Promise<{ readonly acked: boolean; readonly read: number }> => {
  const before = p.service.stats.num_requests
  for (let i = 0; i < FLOOD; i++) p.nc.publish(`allsource.append.acme.flood-${i % 100}`, GARBAGE, { reply: '_INBOX.nobody.listens' })
  const r = await p.app.append('acme', stream, [{ type: 'flooded', payload: {} }])
  const read = p.service.stats.num_requests - before
  console.log(`${p.logNc === undefined ? 'one connection' : 'own log connection'}: ${E.isRight(r) ? 'acknowledged' : `answered ${r.left._tag}`} when ${read} of ${FLOOD} flood requests were read`)
  return { acked: E.isRight(r), read }
}

describe('the event log on a connection of its own (logConnection)', () => {
  /** A nats-server of its own and a processor on it, stopped when the test ends. */
  const start = async (ownLogConnection: boolean): Promise<Processor> => {
    const server: TestNatsServer = await startNatsServer()
    const opened: NatsConnection[] = []
    let app: AllSource | undefined
    onTestFinished(() =>
      cleanUp(
        () => app?.close(),
        ...opened.map((c) => () => c.close()),
        () => server.stop(),
      ),
    )
    const nc = await connect({ servers: server.url })
    opened.push(nc)
    const logNc = ownLogConnection ? await connect({ servers: server.url }) : undefined
    if (logNc !== undefined) opened.push(logNc)
    app = await createAllSource({ nc, ...(logNc !== undefined ? { logConnection: logNc } : {}) })
    return { nc, logNc, app, service: await app.serve() }
  }

  it('one connection: an append is never acknowledged before every request queued ahead of its ack on the socket is read', async () => {
    const p = await start(false)
    // The ack comes back on the serving socket, behind the whole flood (on a slow machine the
    // append may time out waiting for it instead): this is what the second connection avoids.
    const { acked, read } = await appendBehindFlood(p, 'one-connection')
    if (acked) expect(read).toBeGreaterThanOrEqual(FLOOD)
  })

  it('own connection: the append is loaded, written and acknowledged while the flood still waits on the serving socket, and the commit goes over the log connection', async () => {
    const p = await start(true)
    const logNc = p.logNc as NatsConnection
    const logged = logNc.stats()
    const { acked, read } = await appendBehindFlood(p, 'own-connection')
    expect(acked).toBe(true)
    expect(read).toBeLessThan(FLOOD)
    // The commit's publish (and the stream's load) went over the log connection.
    expect(logNc.stats().outMsgs - logged.outMsgs).toBeGreaterThanOrEqual(1)
    expect(logNc.stats().inMsgs - logged.inMsgs).toBeGreaterThanOrEqual(1)
    const page = await p.app.read('acme', 'own-connection')
    expect(E.isRight(page) ? page.right.events.map((e) => e.type) : page.left).toEqual(['flooded'])
  })
})
