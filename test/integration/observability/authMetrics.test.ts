/**
 * Auth-mode metrics against a real nats-server with the real auth callout, processor and plane:
 * refused connections by reason, and quota refusals by limit (connections, and the append path).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProcessorMetrics } from '../../../src/adapters/metrics/processorMetrics.js'
import { tenantConnectOptions } from '../../../src/adapters/nats/auth/natsGrants.js'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { systemClock } from '../../../src/adapters/system/systemClock.js'
import { createKey } from '../../../src/application/auth/apiKeys.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant, type QuotaOverrides } from '../../../src/domain/tenants/tenant.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { type AuthPlane, startAuthPlane } from '../../../src/main/auth/authPlane.js'
import { loadConfig } from '../../../src/main/config.js'
import { type AuthTestServer, startAuthServer } from '../../support/authServer.js'
import { cleanUp } from '../../support/cleanUp.js'
import { waitFor } from '../../support/projections.js'
import { sampleValue } from '../../support/promText.js'

let server: AuthTestServer | undefined
let processorNc: NatsConnection | undefined
let app: AllSource | undefined
let plane: AuthPlane | undefined
let dataDir: string | undefined
const open: NatsConnection[] = []
const metrics = createProcessorMetrics({ processMetrics: false })
const logs: string[] = []
let key = ''

beforeAll(async () => {
  server = await startAuthServer()
  processorNc = await server.processor()
  dataDir = await mkdtemp(join(tmpdir(), 'allsource-authmetrics-'))
  plane = await startAuthPlane(processorNc, { material: server.material, url: server.url }, { ...loadConfig({}), dataDir, prefix: 'allsource' }, (m) => logs.push(m), metrics)
  app = await createAllSource({ nc: processorNc, auth: plane.serviceAuth, metrics, snapshotEvery: 0, warn: () => undefined })
  await app.serve()
  await plane.tenants.create(newTenant('metered' as TenantId, new Date().toISOString() as IsoTimestamp, { quotas: { connections: 1, streams: 1, appendsPerSecond: null } as QuotaOverrides }))()
  const created = await createKey({ store: plane.keys, hasher: plane.hasher, clock: systemClock })('metered' as TenantId, { role: 'developer' })
  if (E.isLeft(created)) throw new Error('key')
  key = created.right.key.reveal()
}, 60_000)

afterAll(() =>
  cleanUp(
    ...open.map((nc) => () => nc.close()),
    () => app?.close(),
    () => plane?.stop(),
    () => processorNc?.close(),
    () => server?.stop(),
    () => (dataDir !== undefined ? rm(dataDir, { recursive: true, force: true }) : undefined),
  ),
)

describe('auth metrics', () => {
  it('counts refused connections by reason, and quota refusals by limit', async () => {
    const s = server as AuthTestServer
    await expect(connect({ servers: s.url, token: 'as_notakey_0000000000000000000000', reconnect: false })).rejects.toThrow(/Authorization Violation/)
    await waitFor(async () => sampleValue(await metrics.text(), 'allsource_auth_failures_total', { reason: 'UNAUTHORIZED' }) === 1, 10_000, 'the UNAUTHORIZED count')

    const nc = await connect({ servers: s.url, ...tenantConnectOptions('metered', key), reconnect: false })
    open.push(nc)
    await waitFor(() => plane?.connections.live('metered') === 1, 10_000, 'the connection count')
    await expect(connect({ servers: s.url, ...tenantConnectOptions('metered', key), reconnect: false })).rejects.toThrow(/Authorization Violation/)
    await waitFor(async () => sampleValue(await metrics.text(), 'allsource_quota_refusals_total', { limit: 'connections' }) === 1, 10_000, 'the connections refusal')
    expect(sampleValue(await metrics.text(), 'allsource_auth_failures_total', { reason: 'QUOTA_EXCEEDED' })).toBe(1)

    // The append path: the second stream is over the tenant's `streams` quota of 1.
    const client = createAllSourceClient(nc)
    expect(E.isRight(await client.tryAppend('metered', 's-1', [{ type: 'x.y', payload: {} }]))).toBe(true)
    const refused = await client.tryAppend('metered', 's-2', [{ type: 'x.y', payload: {} }])
    expect(E.isLeft(refused) && refused.left.code).toBe('QUOTA_EXCEEDED')
    const text = await metrics.text()
    expect(sampleValue(text, 'allsource_quota_refusals_total', { limit: 'streams' })).toBe(1)
    expect(sampleValue(text, 'allsource_append_duration_seconds_count', { source: 'service', outcome: 'QUOTA_EXCEEDED' })).toBe(1)
    expect(sampleValue(text, 'allsource_append_duration_seconds_count', { source: 'service', outcome: 'ok' })).toBe(1)
    // No credential reaches the metrics or the log.
    expect(text).not.toContain(key)
    expect(logs.join('\n')).not.toContain(key)
  })
})
