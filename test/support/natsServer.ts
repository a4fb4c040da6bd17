import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { findNatsServer } from '../../src/main/natsServer/findNatsServer.js'
import { launchNatsServer, type RunningNatsServer } from '../../src/main/natsServer/launchNatsServer.js'

/** A test's own nats-server; `stop()` also removes its temp dir. */
export interface TestNatsServer extends RunningNatsServer {
  /** The temp dir holding this server's nats.conf and JetStream store. */
  readonly dir: string
}

export interface TestNatsServerOptions {
  /** nats-server configuration text written to `<dir>/nats.conf`, e.g. `max_payload: 2048`. */
  readonly config?: string
  /** `sync_interval: always` (fsync before every ack). */
  readonly syncAlways?: boolean
}

/**
 * Starts a fresh nats-server >= 2.10 with JetStream on a free 127.0.0.1 port, with its store in
 * a new temp dir (`os.tmpdir()/allsource-test-*`). Never connects to, stops or reuses a server it
 * did not start. Rejects with the install hint when no nats-server >= 2.10 is found.
 */
export const startNatsServer = async (opts: TestNatsServerOptions = {}): Promise<TestNatsServer> => {
  const binary = (await findNatsServer()).path
  const dir = await mkdtemp(join(tmpdir(), 'allsource-test-'))
  try {
    let configFile: string | undefined
    if (opts.config !== undefined) await writeFile((configFile = join(dir, 'nats.conf')), `${opts.config}\n`)
    const server = await launchNatsServer({
      binary,
      port: 0,
      storeDir: join(dir, 'store'),
      ...(configFile !== undefined ? { configFile } : {}),
      ...(opts.syncAlways === true ? { syncAlways: true } : {}),
    })
    return {
      ...server,
      dir,
      stop: async () => {
        await server.stop()
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    throw e
  }
}

/**
 * Vitest helper: starts a server in `beforeAll`, stops it in `afterAll`, and returns a getter
 * that throws if called before the server is up.
 */
export const withNatsServer = (opts: TestNatsServerOptions = {}): (() => TestNatsServer) => {
  let server: TestNatsServer | undefined
  beforeAll(async () => {
    server = await startNatsServer(opts)
  })
  afterAll(async () => {
    await server?.stop()
  })
  return () => {
    if (server === undefined) throw new Error('withNatsServer: the server is not started (use it inside a test or hook)')
    return server
  }
}
