import { resolve } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import type { Config } from './config.js'
import { launchNatsServer, type RunningNatsServer } from './natsServer/launchNatsServer.js'
import { projectRoot } from './natsServer/findNatsServer.js'
import { clearDataDir, releaseServerLock, writeServerLock } from './natsServer/serverLock.js'

export interface NatsSession {
  readonly nc: NatsConnection
  /** The embedded server, when this process started one (stopped with the session). */
  readonly server: RunningNatsServer | undefined
  /** Where we connected, for the log. */
  readonly where: string
}

const hasJetStream = async (nc: NatsConnection): Promise<boolean> => {
  try {
    await (await jetstreamManager(nc, { timeout: 2_000 })).getAccountInfo()
    return true
  } catch {
    return false
  }
}

const tryConnect = async (url: string): Promise<NatsConnection | undefined> => {
  try {
    return await connect({ servers: url, timeout: 1_000, reconnect: false })
  } catch {
    return undefined
  }
}

/**
 * Connects the processor: to `NATS_URL` when set; else to the probe URL (127.0.0.1:4222) when a
 * server with JetStream answers there; else starts the embedded server from `nats.conf`.
 *
 * The embedded server is tied to its data dir by `<dataDir>/nats-server.lock.json` (its pid and
 * port, and this processor's pid), removed when it is stopped. Before probing, a server left
 * running there by a processor that was killed is stopped, and the log says so; a data dir whose
 * server and processor are both alive is refused.
 */
export const connectToNats = async (config: Config, log: (message: string) => void = () => undefined): Promise<NatsSession> => {
  if (config.natsUrl !== undefined) {
    const nc = await connect({ servers: config.natsUrl, name: 'allsource' }).catch((e: unknown) => {
      throw new Error(`cannot connect to NATS_URL=${config.natsUrl}: ${e instanceof Error ? e.message : String(e)}`)
    })
    return { nc, server: undefined, where: `${config.natsUrl} (NATS_URL)` }
  }
  const root = projectRoot()
  const storeDir = resolve(root, config.dataDir)
  await clearDataDir(storeDir, log)
  if (config.embedded !== 'always') {
    const probe = await tryConnect(config.probeUrl)
    if (probe !== undefined) {
      if (await hasJetStream(probe)) {
        await probe.close()
        const nc = await connect({ servers: config.probeUrl, name: 'allsource' })
        return { nc, server: undefined, where: `${config.probeUrl} (a running server with JetStream)` }
      }
      await probe.close()
    }
    if (config.embedded === 'never') {
      throw new Error(`no NATS server with JetStream answers at ${config.probeUrl}; set NATS_URL or ALLSOURCE_EMBEDDED=auto`)
    }
  }
  const launched = await launchNatsServer({
    configFile: resolve(root, 'nats.conf'),
    storeDir,
    // A Ctrl-C reaches the processor only; it stops the server last, after draining.
    ownProcessGroup: true,
    ...(config.embeddedPort !== undefined ? { port: config.embeddedPort } : {}),
  })
  writeServerLock(storeDir, { pid: launched.pid, port: launched.port, url: launched.url, processorPid: process.pid, startedAt: new Date().toISOString() })
  const server: RunningNatsServer = {
    ...launched,
    stop: async () => {
      await launched.stop()
      releaseServerLock(storeDir, launched.pid)
    },
  }
  try {
    const nc = await connect({ servers: server.url, name: 'allsource' })
    return { nc, server, where: `${server.url} (embedded nats-server, pid ${server.pid}, store ${server.storeDir})` }
  } catch (e) {
    await server.stop()
    throw e
  }
}
