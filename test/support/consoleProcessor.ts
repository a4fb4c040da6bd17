import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NatsConnection } from '@nats-io/transport-node'
import { buildConsoleIfStale } from '../../scripts/buildConsole.mjs'
import { loadOrCreateAuthMaterial } from '../../src/main/auth/authMaterial.js'
import { freePort } from '../../src/main/natsServer/launchNatsServer.js'
import { type AuthTestServer, startAuthServer } from './authServer.js'
import { cleanUp } from './cleanUp.js'
import { type ProcessorProcess, root, spawnProcessor } from './processor.js'

/** A nats-server in auth mode and `npm start`'s processor (a process, with its metrics, ingest and projections) with the gateway on a free port and the console built. */
export interface ConsoleProcessor {
  readonly url: string
  readonly operatorKey: string
  readonly processor: ProcessorProcess
  /** A call of the gateway's API with a key, as the tests' own client. */
  api(method: string, path: string, key: string, body?: unknown): Promise<{ readonly status: number; readonly body: Record<string, unknown> }>
  /** A NATS connection as the processor (to publish what no HTTP route takes, e.g. a bad ingest message). */
  nats(): Promise<NatsConnection>
  stop(): Promise<void>
}

export const startConsoleProcessor = async (env: Record<string, string> = {}): Promise<ConsoleProcessor> => {
  const p: { server?: AuthTestServer; processor?: ProcessorProcess; dir?: string } = {}
  const stop = () =>
    cleanUp(
      async () => {
        const proc = p.processor
        if (proc !== undefined && proc.proc.exitCode === null && proc.proc.signalCode === null) {
          proc.proc.kill('SIGTERM')
          await proc.exited()
        }
      },
      () => p.server?.stop(),
      () => (p.dir !== undefined ? rm(p.dir, { recursive: true, force: true }) : undefined),
    )
  try {
    await buildConsoleIfStale(root)
    p.dir = await mkdtemp(join(tmpdir(), 'allsource-console-'))
    const dataDir = join(p.dir, 'data')
    const material = loadOrCreateAuthMaterial(dataDir)
    p.server = await startAuthServer(material)
    p.processor = spawnProcessor({ NATS_URL: p.server.url, ALLSOURCE_EMBEDDED: 'never', ALLSOURCE_AUTH: 'on', ALLSOURCE_DATA_DIR: dataDir, ALLSOURCE_HTTP_PORT: String(await freePort()), ALLSOURCE_BOOTSTRAP_KEY: '', ...env })
    await p.processor.ready(90_000)
    const m = /HTTP gateway on (http:\/\/[^\s"]+)/.exec(p.processor.output())
    if (m?.[1] === undefined) throw new Error(`no gateway URL in the processor's log:\n${p.processor.output()}`)
    const url = m[1]
    const operatorKey = readFileSync(join(dataDir, 'auth', 'operator.key'), 'utf8').trim()
    const api: ConsoleProcessor['api'] = async (method, path, key, body) => {
      const res = await fetch(`${url}${path}`, { method, headers: { authorization: `ApiKey ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
      const text = await res.text()
      return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> }
    }
    const server = p.server
    return { url, operatorKey, processor: p.processor, api, nats: () => server.processor(), stop }
  } catch (e) {
    await stop()
    throw e
  }
}
