import { connect, type NatsConnection } from '@nats-io/transport-node'
import { type AllSource, createAllSource } from '../../src/main/allSource.js'
import { type RunningGateway, startGateway } from '../../src/main/http/startGateway.js'
import { entityState, eventCounter } from '../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../src/domain/projections/projection.js'
import type { GatewayDeps } from '../../src/adapters/http/gateway.js'
import { startNatsServer, type TestNatsServer } from './natsServer.js'
import { cleanUp } from './cleanUp.js'

/** A test's own nats-server, an in-process processor (auth off, built-in projections) and its HTTP gateway on a free port. */
export interface GatewayFixture {
  readonly server: TestNatsServer
  readonly nc: NatsConnection
  readonly app: AllSource
  readonly gateway: RunningGateway
  stop(): Promise<void>
}

export const startGatewayFixture = async (extra?: GatewayFixtureExtra): Promise<GatewayFixture> => {
  const parts: Partial<GatewayFixture> = {}
  try {
    const server = (parts as { server?: TestNatsServer }).server = await startNatsServer()
    const nc = await connect({ servers: server.url })
    const app = await createAllSource({ nc, snapshotEvery: 0, warn: () => undefined, maxEventsPerCommit: 100 })
    await app.serve()
    await app.startProjections([entityState, eventCounter] as ProjectionDefinition<unknown>[])
    const gateway = await startGateway({ nc, app, prefix: 'allsource', maxEventsPerCommit: 100, port: 0, host: '127.0.0.1', log: () => undefined, ...(extra !== undefined ? { extra } : {}) })
    const stop = () => cleanUp(() => gateway.close(), () => app.close(), () => nc.close(), () => server.stop())
    return { server, nc, app, gateway, stop }
  } catch (e) {
    await cleanUp(() => parts.server?.stop())
    throw e
  }
}

export type GatewayFixtureExtra = Pick<GatewayDeps, 'metrics' | 'onRequestDone' | 'bodyLimit'>

/** One HTTP request; the body parsed as JSON when it is JSON. */
export const call = async (
  base: string,
  method: string,
  path: string,
  o: { readonly body?: unknown; readonly raw?: string; readonly headers?: Record<string, string> } = {},
): Promise<{ readonly status: number; readonly headers: Headers; readonly body: Record<string, unknown>; readonly text: string }> => {
  const headers: Record<string, string> = { ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers }
  const res = await fetch(`${base}${path}`, { method, headers, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : o.raw !== undefined ? { body: o.raw } : {}) })
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try {
    body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>)
  } catch {
    body = {}
  }
  return { status: res.status, headers: res.headers, body, text }
}
