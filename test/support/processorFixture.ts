import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll } from 'vitest'
import { type AllSource, type AllSourceOptions, createAllSource } from '../../src/main/allSource.js'
import { startNatsServer, type TestNatsServer, type TestNatsServerOptions } from './natsServer.js'

export interface ProcessorFixture {
  readonly server: TestNatsServer
  readonly nc: NatsConnection
  readonly app: AllSource
  /** The event log's own connection, with `ownLogConnection` (as `npm start` runs it). */
  readonly logNc?: NatsConnection
}

/**
 * Vitest helper: a test file's own nats-server and an in-process AllSource processor on it
 * (serving `allsource.append.*.*` unless `serve: false`), started in `beforeAll` and stopped in
 * `afterAll`. Returns a getter. `ownLogConnection`: the event log writes on a second connection
 * (`logConnection`), as `npm start` runs it.
 */
export const withProcessor = (
  options: Omit<AllSourceOptions, 'nc' | 'logConnection'> & { readonly serve?: boolean; readonly server?: TestNatsServerOptions; readonly ownLogConnection?: boolean } = {},
): (() => ProcessorFixture) => {
  let fixture: ProcessorFixture | undefined
  beforeAll(async () => {
    const { serve = true, server: serverOptions, ownLogConnection = false, ...appOptions } = options
    const server = await startNatsServer(serverOptions)
    const nc = await connect({ servers: server.url })
    const logNc = ownLogConnection ? await connect({ servers: server.url }) : undefined
    const app = await createAllSource({ nc, ...(logNc !== undefined ? { logConnection: logNc } : {}), ...appOptions })
    if (serve) await app.serve()
    fixture = { server, nc, app, ...(logNc !== undefined ? { logNc } : {}) }
  })
  afterAll(async () => {
    await fixture?.app.close()
    await fixture?.logNc?.close()
    await fixture?.nc.close()
    await fixture?.server.stop()
  })
  return () => {
    if (fixture === undefined) throw new Error('withProcessor: not started (use it inside a test or hook)')
    return fixture
  }
}
