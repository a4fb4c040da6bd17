import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuthorizeHttp } from '../../../src/adapters/http/gatewayAuth.js'
import { natsProjectionSource, replayEventSource } from '../../../src/adapters/http/liveSources.js'
import { createProjectionReader, type ProjectionReader } from '../../../src/adapters/nats/projections/projectionReader.js'
import { systemClock } from '../../../src/adapters/system/systemClock.js'
import { createKey, revokeKey } from '../../../src/application/auth/apiKeys.js'
import { authenticate } from '../../../src/application/auth/authenticate.js'
import { changeTenant } from '../../../src/application/tenants/changeTenant.js'
import type { ApiKeyId } from '../../../src/domain/security/apiKey.js'
import { authorize } from '../../../src/domain/security/permissions.js'
import type { TenantRole } from '../../../src/domain/security/roles.js'
import { unauthorized } from '../../../src/domain/streams/errors.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { eventCounter } from '../../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import { type IsoTimestamp, newTenant, type QuotaOverrides, suspend } from '../../../src/domain/tenants/tenant.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { type AuthPlane, startAuthPlane } from '../../../src/main/auth/authPlane.js'
import { loadConfig } from '../../../src/main/config.js'
import { type AuthTestServer, startAuthServer } from '../../support/authServer.js'
import { cleanUp } from '../../support/cleanUp.js'
import { connectLive, liveGateway, receive } from '../../support/liveGateway.js'

/**
 * The live routes in auth mode: a nats-server with the auth callout, the real auth plane (tenant
 * registry, key store, tenant directory, access-token signer and verifier) and a processor on it.
 * `authorize` is built the way the gateway builds it: the callout's own `authenticate` deps, then
 * the permission table.
 */
describe('live streams in auth mode (control plane credentials: API keys and access tokens)', () => {
  let server: AuthTestServer | undefined
  let nc: NatsConnection | undefined
  let plane: AuthPlane | undefined
  let app: AllSource | undefined
  let reader: ProjectionReader | undefined
  let gateway: FastifyInstance | undefined
  let dataDir: string | undefined
  let url = ''

  const keyFor = async (tenant: string, role: TenantRole) => {
    const created = await createKey({ store: plane!.keys, hasher: plane!.hasher, clock: systemClock })(tenant as TenantId, { role })
    if (E.isLeft(created)) throw new Error(JSON.stringify(created.left))
    return { keyId: created.right.keyId, key: created.right.key.reveal() }
  }
  const tokenFor = async (tenant: string, role: TenantRole, keyId: ApiKeyId) =>
    (await plane!.userPlane.tokens.sign({ tenant: tenant as TenantId, role, subject: { kind: 'key', keyId } }, new Date())).token.reveal()
  const outcome = async (path: string, authorization?: string): Promise<'open' | [number, unknown]> => {
    const r = await connectLive(`${url}${path}`, authorization === undefined ? {} : { headers: { authorization } })
    if ('refused' in r) return [r.refused.status, r.refused.body.code]
    r.ws.close()
    return 'open'
  }

  beforeAll(async () => {
    server = await startAuthServer()
    nc = await server.processor()
    dataDir = await mkdtemp(join(tmpdir(), 'allsource-live-auth-'))
    plane = await startAuthPlane(nc, { material: server.material, url: server.url }, { ...loadConfig({}), dataDir, prefix: 'allsource' }, () => undefined)
    app = await createAllSource({ nc, auth: plane.serviceAuth, snapshotEvery: 0, warn: () => undefined })
    await app.startProjections([eventCounter] as ProjectionDefinition<unknown>[])
    reader = await createProjectionReader(nc)
    const now = new Date().toISOString() as IsoTimestamp
    for (const t of ['acme', 'globex']) await plane.tenants.create(newTenant(t as TenantId, now, { quotas: { connections: null } as QuotaOverrides }))()
    const p = plane
    const authn = authenticate({ store: p.keys, hasher: p.hasher, clock: systemClock, tenants: p.tenants, admit: (t) => p.directory.admit(t), userAuth: p.userPlane.userAuth })
    const authorizeHttp: AuthorizeHttp = async (header, tenant, operation) => {
      const m = header === undefined ? null : /^(Bearer|ApiKey) (.+)$/.exec(header)
      if (m === null) return E.left(unauthorized())
      const who = await authn(m[2], new Date())
      if (E.isLeft(who)) return who
      const allowed = authorize(who.right.identity, operation, tenant as TenantId)
      return E.isLeft(allowed) ? allowed : E.right(who.right)
    }
    const gw = await liveGateway({ authorize: authorizeHttp, events: replayEventSource(nc, app.replay), projections: natsProjectionSource(nc, reader) })
    gateway = gw.app
    url = gw.url
  }, 120_000)

  afterAll(() =>
    cleanUp(
      () => gateway?.close(),
      () => reader?.close(),
      () => app?.close(),
      () => plane?.stop(),
      () => nc?.close(),
      () => server?.stop(),
      () => (dataDir !== undefined ? rm(dataDir, { recursive: true, force: true }) : undefined),
    ),
  )

  it('an access token (Bearer) of a reader streams its tenant’s events and projection changes', async () => {
    const { keyId } = await keyFor('acme', 'reader')
    const token = await tokenFor('acme', 'reader', keyId)
    const ev = await connectLive(`${url}/v1/tenants/acme/events/live`, { protocols: ['allsource.v1', `allsource.bearer.${token}`] })
    const pr = await connectLive(`${url}/v1/tenants/acme/projections/event-counter/live?key=am.one`, { headers: { authorization: `Bearer ${token}` } })
    if ('refused' in ev || 'refused' in pr) throw new Error('refused')
    const erx = receive(ev.ws)
    const prx = receive(pr.ws)
    const a = await app!.append('acme', 'am-1', [{ type: 'am.one', payload: { n: 1 } }])
    if (E.isLeft(a)) throw new Error(JSON.stringify(a.left))
    expect((await erx.until(1))[0]).toMatchObject({ tenant: 'acme', stream: 'am-1', offset: a.right.offset, type: 'am.one' })
    expect((await prx.until(1))[0]).toEqual({ projection: 'event-counter', tenant: 'acme', key: 'am.one', state: { count: 1 }, offset: a.right.offset })
    ev.ws.close()
    pr.ws.close()
  })

  it('another tenant’s token or key is 403; a revoked key, its token, a tampered token are 401; a suspended tenant is 403 TENANT_SUSPENDED', async () => {
    const globex = await keyFor('globex', 'developer')
    const globexToken = await tokenFor('globex', 'developer', globex.keyId)
    for (const path of ['/v1/tenants/acme/events/live', '/v1/tenants/acme/projections/event-counter/live']) {
      expect(await outcome(path, `Bearer ${globexToken}`)).toEqual([403, 'FORBIDDEN'])
      expect(await outcome(path, `ApiKey ${globex.key}`)).toEqual([403, 'FORBIDDEN'])
    }
    expect(await outcome('/v1/tenants/globex/events/live', `Bearer ${globexToken}`)).toBe('open')
    const revoked = await keyFor('acme', 'developer')
    const revokedToken = await tokenFor('acme', 'developer', revoked.keyId)
    expect(await outcome('/v1/tenants/acme/events/live', `Bearer ${revokedToken}`)).toBe('open')
    await revokeKey({ store: plane!.keys, hasher: plane!.hasher, clock: systemClock })('acme' as TenantId, revoked.keyId)
    expect(await outcome('/v1/tenants/acme/events/live', `ApiKey ${revoked.key}`)).toEqual([401, 'UNAUTHORIZED'])
    expect(await outcome('/v1/tenants/acme/events/live', `Bearer ${revokedToken}`)).toEqual([401, 'UNAUTHORIZED'])
    const [h, p, s] = globexToken.split('.')
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p ?? '', 'base64url').toString()), tenant: 'acme' })).toString('base64url')}.${s}`
    expect(await outcome('/v1/tenants/acme/events/live', `Bearer ${tampered}`)).toEqual([401, 'UNAUTHORIZED'])
    expect(await outcome('/v1/tenants/globex/events/live', `ApiKey ${globex.key}`)).toBe('open')
    expect(E.isRight(await changeTenant(plane!.tenants, 'globex' as TenantId, suspend)())).toBe(true)
    await expect.poll(() => outcome('/v1/tenants/globex/events/live', `ApiKey ${globex.key}`), { timeout: 20_000 }).toEqual([403, 'TENANT_SUSPENDED'])
  })
})
