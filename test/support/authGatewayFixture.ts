import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NatsConnection } from '@nats-io/transport-node'
import { type AllSource, createAllSource } from '../../src/main/allSource.js'
import { type AuthPlane, startAuthPlane } from '../../src/main/auth/authPlane.js'
import { loadConfig } from '../../src/main/config.js'
import { type RunningGateway, startGateway } from '../../src/main/http/startGateway.js'
import { entityState } from '../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../src/domain/projections/projection.js'
import { type AuthTestServer, startAuthServer } from './authServer.js'
import { cleanUp } from './cleanUp.js'
import { call } from './gatewayFixture.js'

/** A nats-server in auth mode, the real control plane and processor in this process, and the gateway in auth mode on a free port. */
export interface AuthGatewayFixture {
  readonly server: AuthTestServer
  readonly nc: NatsConnection
  readonly plane: AuthPlane
  readonly app: AllSource
  readonly gateway: RunningGateway
  /** The operator key (the bootstrap key given to the plane). */
  readonly operatorKey: string
  stop(): Promise<void>
}

export const startAuthGatewayFixture = async (): Promise<AuthGatewayFixture> => {
  const p: { server?: AuthTestServer; nc?: NatsConnection; plane?: AuthPlane; app?: AllSource; gateway?: RunningGateway; dataDir?: string } = {}
  const stop = () =>
    cleanUp(
      () => p.gateway?.close(),
      () => p.app?.close(),
      () => p.plane?.stop(),
      () => p.nc?.close(),
      () => p.server?.stop(),
      () => (p.dataDir !== undefined ? rm(p.dataDir, { recursive: true, force: true }) : undefined),
    )
  try {
    p.server = await startAuthServer()
    p.nc = await p.server.processor()
    p.dataDir = await mkdtemp(join(tmpdir(), 'allsource-gw-auth-'))
    const config = { ...loadConfig({}), dataDir: p.dataDir, prefix: 'allsource' }
    p.plane = await startAuthPlane(p.nc, { material: p.server.material, url: p.server.url }, config, () => undefined)
    p.app = await createAllSource({ nc: p.nc, auth: p.plane.serviceAuth, snapshotEvery: 0, warn: () => undefined })
    await p.app.serve()
    await p.app.startProjections([entityState] as ProjectionDefinition<unknown>[])
    p.gateway = await startGateway({ nc: p.nc, app: p.app, plane: p.plane, prefix: 'allsource', port: 0, host: '127.0.0.1', log: () => undefined })
    const operatorKey = readFileSync(join(p.dataDir, 'auth', 'operator.key'), 'utf8').trim()
    return { server: p.server, nc: p.nc, plane: p.plane, app: p.app, gateway: p.gateway, operatorKey, stop }
  } catch (e) {
    await stop()
    throw e
  }
}

/** The keys most gateway tests use: acme's admin, developer and reader, and a developer of globex (another tenant). */
export const TENANT_KEYS = [
  ['acme-admin', 'acme', 'admin'],
  ['acme-dev', 'acme', 'developer'],
  ['acme-reader', 'acme', 'reader'],
  ['globex-dev', 'globex', 'developer'],
] as const

/**
 * Creates `tenants` (tier `pro`) and one API key per `[name, tenant, role]` through the gateway, as
 * the operator; resolves with the keys by name.
 */
export const seedTenantsAndKeys = async (f: AuthGatewayFixture, tenants: readonly string[], keys: readonly (readonly [string, string, string])[]): Promise<Record<string, string>> => {
  const headers = { authorization: `ApiKey ${f.operatorKey}` }
  for (const tenant of tenants) {
    const r = await call(f.gateway.url, 'POST', '/v1/admin/tenants', { body: { tenant, tier: 'pro' }, headers })
    if (r.status !== 201) throw new Error(`tenant ${tenant}: ${r.status} ${r.text}`)
  }
  const out: Record<string, string> = {}
  for (const [name, tenant, role] of keys) {
    const r = await call(f.gateway.url, 'POST', `/v1/admin/${tenant}/keys`, { body: { role, name }, headers })
    if (r.status !== 201) throw new Error(`key ${name}: ${r.status} ${r.text}`)
    out[name] = String(r.body.key)
  }
  return out
}
