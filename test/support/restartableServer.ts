import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { findNatsServer } from '../../src/main/natsServer/findNatsServer.js'
import { freePort, launchNatsServer } from '../../src/main/natsServer/launchNatsServer.js'

export interface RestartableServer {
  /** A connection that reconnects for ever, so it outlives restarts. */
  readonly nc: NatsConnection
  /** Stops the server (SIGTERM), waits `downMs`, and starts it again on the same port and store. */
  restart(downMs?: number): Promise<void>
  /** Closes the connection, stops the server and removes its store. */
  close(): Promise<void>
}

/** A nats-server of the test's own, on a free port and a temp store, that can be restarted in place. */
export const startRestartableServer = async (): Promise<RestartableServer> => {
  const binary = (await findNatsServer()).path
  const dir = await mkdtemp(join(tmpdir(), 'allsource-test-'))
  const port = await freePort()
  const launch = () => launchNatsServer({ binary, port, storeDir: join(dir, 'store') })
  let server = await launch()
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
  return {
    nc,
    async restart(downMs = 500) {
      await server.stop()
      await new Promise((r) => setTimeout(r, downMs))
      server = await launch()
    },
    async close() {
      await nc.close()
      await server.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
