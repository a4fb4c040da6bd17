import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { systemClock } from '../../src/adapters/system/systemClock.js'
import { createKey } from '../../src/application/auth/apiKeys.js'
import type { TenantRole } from '../../src/domain/security/roles.js'
import type { TenantId } from '../../src/domain/streams/ids.js'
import { type AllSource, type AllSourceOptions, createAllSource } from '../../src/main/allSource.js'
import { type AuthPlane, startAuthPlane } from '../../src/main/auth/authPlane.js'
import { loadConfig } from '../../src/main/config.js'
import { type AuthTestServer, startAuthServer } from './authServer.js'
import { cleanUp } from './cleanUp.js'

/** A processor in auth mode, as `npm start` runs it, on a test's own nats-server. */
export interface AuthProcessor {
  readonly server: AuthTestServer
  /** The processor's connection (nkey, exempt from the callout). */
  readonly processorNc: NatsConnection
  readonly plane: AuthPlane
  readonly app: AllSource
  /** Its data dir (the operator key is in it). */
  readonly dataDir: string
  /** Creates one API key per `[name, tenant, role]`; answers each name's `{ keyId, key }` (the secret revealed). */
  createKeys(keys: readonly (readonly [string, string, TenantRole])[]): Promise<Record<string, { keyId: string; key: string }>>
  /** Closes `connections` (the test's own), then stops the processor, the plane and the server, and removes the data dir, whatever fails. */
  stop(connections?: readonly NatsConnection[]): Promise<void>
}

/**
 * Starts a nats-server in auth mode, the auth plane (callout, admin) and a serving processor on it,
 * with a fresh data dir. `log` receives the plane's and the processor's warnings (default: dropped);
 * `app` adds options to `createAllSource` (snapshots are off unless it says otherwise).
 */
export const startAuthProcessor = async (o: { readonly dataDirPrefix?: string; readonly log?: (line: string) => void; readonly app?: Partial<AllSourceOptions> } = {}): Promise<AuthProcessor> => {
  const log = o.log ?? (() => undefined)
  const server = await startAuthServer()
  const parts: { processorNc?: NatsConnection; plane?: AuthPlane; app?: AllSource; dataDir?: string } = {}
  const stop = (connections: readonly NatsConnection[] = []): Promise<void> =>
    cleanUp(
      ...connections.map((nc) => () => nc.close()),
      () => parts.app?.close(),
      () => parts.plane?.stop(),
      () => parts.processorNc?.close(),
      () => server.stop(),
      () => (parts.dataDir !== undefined ? rm(parts.dataDir, { recursive: true, force: true }) : undefined),
    )
  try {
    const processorNc = (parts.processorNc = await server.processor())
    const dataDir = (parts.dataDir = await mkdtemp(join(tmpdir(), o.dataDirPrefix ?? 'allsource-authdata-')))
    const config = { ...loadConfig({}), dataDir, prefix: 'allsource' }
    const plane = (parts.plane = await startAuthPlane(processorNc, { material: server.material, url: server.url }, config, log))
    const app = (parts.app = await createAllSource({ nc: processorNc, auth: plane.serviceAuth, snapshotEvery: 0, warn: log, ...o.app }))
    await app.serve()
    const deps = { store: plane.keys, hasher: plane.hasher, clock: systemClock }
    return {
      server,
      processorNc,
      plane,
      app,
      dataDir,
      async createKeys(keys) {
        const out: Record<string, { keyId: string; key: string }> = {}
        for (const [who, tenant, role] of keys) {
          const created = await createKey(deps)(tenant as TenantId, { role })
          if (E.isLeft(created)) throw new Error(`key ${who}: ${JSON.stringify(created.left)}`)
          out[who] = { keyId: created.right.keyId, key: created.right.key.reveal() }
        }
        return out
      },
      stop,
    }
  } catch (e) {
    await stop()
    throw e
  }
}
