import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import type { StreamService } from '../../../src/adapters/nats/service/streamService.js'
import { cleanUp } from '../../support/cleanUp.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'

/** Requests queued on the serving socket ahead of the append: far more than the processor reads while one append round-trips. */
const FLOOD = 200_000
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
 * ack) and says how many of the flood's requests the processor had read when the append resolved.
 */
const readWhenAppended = async (p: Processor, stream: string): Promise<number> => {
  const before = p.service.stats.num_requests
  for (let i = 0; i < FLOOD; i++) p.nc.publish(`allsource.append.acme.flood-${i % 100}`, GARBAGE, { reply: '_INBOX.nobody.listens' })
  const r = await p.app.append('acme', stream, [{ type: 'flooded', payload: {} }])
  const read = p.service.stats.num_requests - before
  console.log(`${p.logNc === undefined ? 'one connection' : 'own log connection'}: ${read} of ${FLOOD} flood requests read when the append resolved`)
  expect(E.isRight(r)).toBe(true)
  // Let the rest of the flood be read before the next case.
  await p.nc.flush()
  while (p.service.stats.num_requests - before < FLOOD) await new Promise((res) => setTimeout(res, 50))
  return read
}

describe('the event log on a connection of its own (logConnection)', () => {
  let server: TestNatsServer | undefined
  const opened: NatsConnection[] = []
  const apps: AllSource[] = []
  beforeAll(async () => {
    server = await startNatsServer()
  })
  afterAll(() =>
    cleanUp(
      ...apps.map((a) => () => a.close()),
      ...opened.map((c) => () => c.close()),
      () => server?.stop(),
    ),
  )
  const start = async (ownLogConnection: boolean): Promise<Processor> => {
    const url = server?.url ?? ''
    const nc = await connect({ servers: url })
    opened.push(nc)
    const logNc = ownLogConnection ? await connect({ servers: url }) : undefined
    if (logNc !== undefined) opened.push(logNc)
    const app = await createAllSource({ nc, ...(logNc !== undefined ? { logConnection: logNc } : {}) })
    apps.push(app)
    return { nc, logNc, app, service: await app.serve() }
  }
  const stop = async (p: Processor): Promise<void> => {
    await p.app.close()
    apps.splice(apps.indexOf(p.app), 1)
  }

  it('one connection: an append is acknowledged only after every request queued before its ack on the socket is read', async () => {
    const p = await start(false)
    // The ack comes back on the serving socket, behind the whole flood: this is what the second connection avoids.
    expect(await readWhenAppended(p, 'one-connection')).toBeGreaterThanOrEqual(FLOOD)
    await stop(p)
  })

  it('own connection: the append is loaded, written and acknowledged while the flood still waits on the serving socket, and the commit goes over the log connection', async () => {
    const p = await start(true)
    const logNc = p.logNc as NatsConnection
    const logged = logNc.stats()
    const read = await readWhenAppended(p, 'own-connection')
    expect(read).toBeLessThan(FLOOD)
    // The commit's publish (and the stream's load) went over the log connection.
    expect(logNc.stats().outMsgs - logged.outMsgs).toBeGreaterThanOrEqual(1)
    expect(logNc.stats().inMsgs - logged.inMsgs).toBeGreaterThanOrEqual(1)
    const page = await p.app.read('acme', 'own-connection')
    expect(E.isRight(page) ? page.right.events.map((e) => e.type) : page.left).toEqual(['flooded'])
    await stop(p)
  })
})
