import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { systemClock } from '../../src/adapters/system/systemClock.js'
import { createKey } from '../../src/application/auth/apiKeys.js'
import type { TenantId } from '../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant } from '../../src/domain/tenants/tenant.js'
import { createAllSource } from '../../src/main/allSource.js'
import { generateAuthMaterial, serverAuthBlock } from '../../src/main/auth/authMaterial.js'
import { type AuthPlane, startAuthPlane } from '../../src/main/auth/authPlane.js'
import { loadConfig } from '../../src/main/config.js'
import { launchNatsServer, type RunningNatsServer } from '../../src/main/natsServer/launchNatsServer.js'
import { percentile } from '../report.js'
import { type BenchServer, freshServer, procCpuMicros } from './common.js'
import { drive, type ServiceResult, service } from './service.js'

const te = new TextEncoder()
const connectScript = resolve(dirname(fileURLToPath(import.meta.url)), '../connectClient.ts')

/** A fresh nats-server in auth mode (the embedded server's accounts and callout block), the processor's connection (nkey) and the auth plane on it. */
export interface AuthBenchServer {
  readonly server: RunningNatsServer
  /** The processor's connection: an nkey user exempt from the callout. */
  readonly nc: NatsConnection
  readonly plane: AuthPlane
  stop(): Promise<void>
}

export const freshAuthServer = async (): Promise<AuthBenchServer> => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-bench-auth-'))
  const material = generateAuthMaterial()
  const authenticator = nkeyAuthenticator(te.encode(material.processorSeed))
  const server = await launchNatsServer({ storeDir: join(dir, 'store'), port: 0, appendConfig: serverAuthBlock(material), probeAuth: { authenticator } })
  const nc = await connect({ servers: server.url, name: 'bench-processor', authenticator })
  const config = { ...loadConfig({}), dataDir: join(dir, 'data'), prefix: 'allsource' }
  const plane = await startAuthPlane(nc, { material, url: server.url }, config, () => undefined)
  return {
    server,
    nc,
    plane,
    stop: async () => {
      await plane.stop()
      await nc.close()
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Creates `tenants` (tier `unlimited`) in the registry and `perTenant` developer keys in each, through the plane's
 * key store (`startAuthPlane(...).keys`, whichever store that is); returns the keys in
 * round-robin order over the tenants, so any run of consecutive keys spans them all.
 */
export const createTenantKeys = async (a: AuthBenchServer, tenants: readonly string[], perTenant: number): Promise<{ tenant: string; key: string }[]> => {
  const now = new Date().toISOString() as IsoTimestamp
  const deps = { store: a.plane.keys, hasher: a.plane.hasher, clock: systemClock }
  for (const t of tenants) {
    // Unlimited: the bench measures the append path's cost, not the free tier's 10 appends/s.
    const created = await a.plane.tenants.create(newTenant(t as TenantId, now, { tier: 'unlimited' }))()
    if (E.isLeft(created)) throw new Error(`bench: tenant ${t} not created: ${JSON.stringify(created.left)}`)
  }
  const out: { tenant: string; key: string }[] = []
  for (let i = 0; i < perTenant; i++) {
    for (const t of tenants) {
      const k = await createKey(deps)(t as TenantId, { role: 'developer' })
      if (E.isLeft(k)) throw new Error(`bench: key not created: ${JSON.stringify(k.left)}`)
      out.push({ tenant: t, key: k.right.key.reveal() })
    }
  }
  // The request path admits from the in-memory directory: wait until it holds every tenant.
  for (const t of tenants) for (let i = 0; i < 200 && E.isLeft(await a.plane.directory.admit(t)); i++) await new Promise((r) => setTimeout(r, 10))
  return out
}

/**
 * Scenario 3b with auth on: a server in auth mode, the processor connected by nkey with the auth
 * plane's tenant admission on its request path, the client process connected as a developer key
 * of tenant `bench` through the callout, with that key's inbox prefix.
 */
export const serviceAuthOn = async (events: number, streams: number): Promise<ServiceResult> => {
  const a = await freshAuthServer()
  try {
    const [k] = await createTenantKeys(a, ['bench'], 1)
    const app = await createAllSource({ nc: a.nc, auth: a.plane.serviceAuth })
    await app.serve()
    const r = await drive(a, events, streams, k?.key)
    await app.close()
    return r
  } finally {
    await a.stop()
  }
}

/** Scenario 3b as it is (no auth), on a fresh server: the baseline of {@link serviceAuthOn}. */
export const serviceAuthOff = async (events: number, streams: number): Promise<ServiceResult> => {
  const b: BenchServer = await freshServer()
  try {
    return await service(b, events, streams)
  } finally {
    await b.stop()
  }
}

export interface ConnectResult {
  readonly p50: number
  readonly p99: number
  readonly connectionsPerSecond: number
  /** CPU microseconds per connection (both phases): the bench process (the callout, with auth on) and nats-server. */
  readonly processCpu: number
  readonly serverCpu: number
}

export interface ConnectWorkload {
  readonly sequential: number
  readonly concurrent: number
  readonly concurrency: number
}

/** Runs the connect client process against `server`, with the keys in `keys` or anonymously. */
const connectRun = async (server: RunningNatsServer, w: ConnectWorkload, keys: readonly { tenant: string; key: string }[] | undefined): Promise<ConnectResult> => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-bench-keys-'))
  try {
    const env = { ...process.env }
    if (keys !== undefined) {
      const file = join(dir, 'keys.json')
      writeFileSync(file, JSON.stringify(keys), { mode: 0o600 })
      env.ALLSOURCE_BENCH_KEYS_FILE = file
    }
    const server0 = procCpuMicros(server.pid)
    const self0 = process.cpuUsage()
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', connectScript, server.url, String(w.sequential), String(w.concurrent), String(w.concurrency)],
      { encoding: 'utf8', maxBuffer: 16 << 20, env },
    )
    const self = process.cpuUsage(self0)
    const serverCpu = procCpuMicros(server.pid) - server0
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { latencies: number[]; concurrent: number; concurrentMs: number }
    const n = r.latencies.length + r.concurrent
    return {
      p50: percentile(r.latencies, 50),
      p99: percentile(r.latencies, 99),
      connectionsPerSecond: r.concurrent / (r.concurrentMs / 1000),
      processCpu: (self.user + self.system) / n,
      serverCpu: serverCpu / n,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Connect-to-ready through the callout: a server in auth mode with the auth plane running in this
 * process, `tenants × perTenant` keys stored, and the client process connecting with them in turn.
 */
export const connectAuthOn = async (w: ConnectWorkload, tenants: readonly string[], perTenant: number): Promise<ConnectResult> => {
  const a = await freshAuthServer()
  try {
    const keys = await createTenantKeys(a, tenants, perTenant)
    return await connectRun(a.server, w, keys)
  } finally {
    await a.stop()
  }
}

/** The same connections, anonymous, to a server without auth: the baseline of {@link connectAuthOn}. */
export const connectAuthOff = async (w: ConnectWorkload): Promise<ConnectResult> => {
  const b = await freshServer()
  try {
    return await connectRun(b.server, w, undefined)
  } finally {
    await b.stop()
  }
}
