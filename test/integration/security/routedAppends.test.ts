/**
 * Auth mode with the append mapping in the application account (docs/operations.md, "Several
 * processors"): tenants keep using `allsource.append.<tenant>.<stream>`, NATS checks their grant
 * against the routed subject the mapping makes of it, and the processor's inbox check still holds.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { tenantConnectOptions } from '../../../src/adapters/nats/auth/natsGrants.js'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { systemClock } from '../../../src/adapters/system/systemClock.js'
import { createKey } from '../../../src/application/auth/apiKeys.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { newTenant, type IsoTimestamp, type QuotaOverrides } from '../../../src/domain/tenants/tenant.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { generateAuthMaterial, serverAuthBlock } from '../../../src/main/auth/authMaterial.js'
import { type AuthPlane, startAuthPlane } from '../../../src/main/auth/authPlane.js'
import { loadConfig } from '../../../src/main/config.js'
import { findNatsServer } from '../../../src/main/natsServer/findNatsServer.js'
import { launchNatsServer, type RunningNatsServer } from '../../../src/main/natsServer/launchNatsServer.js'
import { cleanUp } from '../../support/cleanUp.js'
import { waitFor } from '../../support/projections.js'

const PARTITIONS = 4
const te = new TextEncoder()
let dir: string
let server: RunningNatsServer | undefined
let processorNc: NatsConnection | undefined
let app: AllSource | undefined
let plane: AuthPlane | undefined
const keys: Record<string, string> = {}
const open: NatsConnection[] = []

const connectAs = async (who: string, tenant: string) => {
  const nc = await connect({ servers: server?.url, ...tenantConnectOptions(tenant, keys[who] as string), reconnect: false })
  open.push(nc)
  const errors: string[] = []
  ;(async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message))
  })().catch(() => undefined)
  return { nc, errors }
}

const eventsOf = async (tenant: string, stream: string): Promise<number> => {
  const r = await (app as AllSource).read(tenant, stream)
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return r.right.events.length
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'allsource-routed-auth-'))
  const material = generateAuthMaterial()
  const auth = { authenticator: nkeyAuthenticator(te.encode(material.processorSeed)) }
  server = await launchNatsServer({
    binary: (await findNatsServer()).path,
    port: 0,
    storeDir: join(dir, 'store'),
    appendConfig: serverAuthBlock(material, { prefix: 'allsource', partitions: PARTITIONS }),
    probeAuth: auth,
  })
  processorNc = await connect({ servers: server.url, ...auth })
  plane = await startAuthPlane(processorNc, { material, url: server.url }, { ...loadConfig({}), dataDir: join(dir, 'data'), prefix: 'allsource' }, () => undefined)
  app = await createAllSource({ nc: processorNc, auth: plane.serviceAuth, snapshotEvery: 0, warn: () => undefined, routing: { partitions: PARTITIONS, member: 'only', ttlMs: 600 } })
  const service = await app.serve()
  await waitFor(() => service.routing?.served().size === PARTITIONS, 10_000, 'every partition served')
  const now = new Date().toISOString() as IsoTimestamp
  for (const t of ['acme', 'globex']) await plane.tenants.create(newTenant(t as TenantId, now, { quotas: { connections: null } as QuotaOverrides }))()
  const deps = { store: plane.keys, hasher: plane.hasher, clock: systemClock }
  for (const [who, tenant, role] of [
    ['acme-dev', 'acme', 'developer'],
    ['acme-reader', 'acme', 'reader'],
  ] as const) {
    const created = await createKey(deps)(tenant as TenantId, { role })
    if (E.isLeft(created)) throw new Error('key')
    keys[who] = created.right.key.reveal()
  }
}, 60_000)

afterAll(() =>
  cleanUp(
    ...open.map((nc) => () => nc.close()),
    () => app?.close(),
    () => plane?.stop(),
    () => processorNc?.close(),
    () => server?.stop(),
    () => rm(dir, { recursive: true, force: true }),
  ),
)

describe('auth mode with appends routed by partition', () => {
  it('a tenant appends on the contract subject; the routed append is served and stored', async () => {
    const client = createAllSourceClient((await connectAs('acme-dev', 'acme')).nc)
    for (let i = 0; i < 8; i++) await client.append('acme', `order-${i}`, [{ type: 'order.placed', payload: { i } }])
    for (let i = 0; i < 8; i++) expect(await eventsOf('acme', `order-${i}`)).toBe(1)
  })

  it("another tenant's stream, directly or through its routed subject, is refused by NATS; the library reports the refusal, not a timeout", async () => {
    const { nc, errors } = await connectAs('acme-dev', 'acme')
    const client = createAllSourceClient(nc, { timeoutMs: 20_000 })
    // The refusal names the routed subject; the library ties it to the request (at once, not after its 20 s timeout).
    await expect(client.tryAppend('globex', 'secret-1', [{ type: 'x', payload: {} }])).rejects.toThrow(/Permissions Violation/)
    nc.publish('allsource.routed.globex.secret-1.0', encodeMsgpack({ events: [{ type: 'x', payload: {} }] }), { reply: `_INBOX.globex.x.1` })
    await waitFor(() => errors.filter((e) => /Permissions Violation for Publish to "allsource.routed.globex/.test(e)).length >= 2, 10_000, 'both refusals')
    expect(await eventsOf('globex', 'secret-1')).toBe(0)
  })

  it('a reader may not append, also through the routed subject', async () => {
    const { nc, errors } = await connectAs('acme-reader', 'acme')
    await expect(createAllSourceClient(nc, { timeoutMs: 20_000 }).tryAppend('acme', 'order-0', [{ type: 'x', payload: {} }])).rejects.toThrow(/Permissions Violation/)
    await waitFor(() => errors.some((e) => /Permissions Violation for Publish to "allsource.routed.acme.order-0/.test(e)), 10_000, 'the refusal')
    expect(await eventsOf('acme', 'order-0')).toBe(1)
  })

  it("a routed append whose reply is outside the tenant's inbox is dropped unanswered, nothing written", async () => {
    const { nc } = await connectAs('acme-dev', 'acme')
    // NATS does not check a reply subject on publish; the processor does (DESIGN.md, "Security").
    nc.publish('allsource.append.acme.forged-reply', encodeMsgpack({ events: [{ type: 'x', payload: {} }] }), { reply: '_INBOX.globex.somebody.1' })
    await nc.flush()
    // A later append to the same stream reaches the processor after it (one connection each way), and
    // the stream's actor takes appends in arrival order: had the forged one been taken, it would be stored first.
    const client = createAllSourceClient(nc)
    const later = await client.append('acme', 'forged-reply', [{ type: 'y', payload: {} }])
    expect(later.toVersion).toBe(1)
    expect(await eventsOf('acme', 'forged-reply')).toBe(1)
  })
})
