import { existsSync, renameSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type ConnectionOptions, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node'
import { APP_ACCOUNT, type AuthMaterial, loadOrCreateAuthMaterial, serverAuthBlock } from './auth/authMaterial.js'
import type { Config } from './config.js'
import { longLivedConnection, serversOf } from './natsConnection.js'
import { launchNatsServer, type RunningNatsServer } from './natsServer/launchNatsServer.js'
import { projectRoot } from './natsServer/findNatsServer.js'
import { clearDataDir, releaseServerLock, writeServerLock } from './natsServer/serverLock.js'

export interface NatsSession {
  readonly nc: NatsConnection
  /** The embedded server, when this process started one (stopped with the session). */
  readonly server: RunningNatsServer | undefined
  /** Where we connected, for the log. */
  readonly where: string
  /** Auth mode is on: the material the server was configured with, and the URL the callout connects to. */
  readonly auth: { readonly material: AuthMaterial; readonly url: string } | undefined
  /**
   * Opens another connection as the processor, to the server(s) `nc` was opened to, with the same
   * options and credentials (auth mode: the processor's nkey) and the client name `name`: the
   * event log's writes get one of their own (see `AllSourceOptions.logConnection`).
   */
  readonly connectAgain: (name: string) => Promise<NatsConnection>
}

/**
 * nats-server versions with the 2026 security advisories fixed that auth mode relies on
 * (docs/security.md, "Claims checked"): 2.12.12 or newer on the 2.12 line, 2.14.3 or newer after.
 */
export const authSafeVersion = (version: string | undefined): boolean => {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? '')
  if (m === null) return false
  const [maj, min, pat] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (maj !== 2) return maj > 2
  if (min === 12) return pat >= 12
  if (min === 14) return pat >= 3
  return min > 14
}

const te = new TextEncoder()
const processorAuth = (m: AuthMaterial): Pick<ConnectionOptions, 'authenticator'> => ({ authenticator: nkeyAuthenticator(te.encode(m.processorSeed)) })

const isAuthError = (e: unknown): boolean => e instanceof Error && /authoriz|authenticat/i.test(`${e.message} ${e.cause instanceof Error ? e.cause.message : ''}`)

/**
 * JetStream keeps each account's streams in `<store>/jetstream/<account>`: without accounts that is
 * `$G`, in auth mode the application account. Switching modes moves the directory, so the log and
 * every bucket stay where the server looks (nothing is copied; a directory is only moved when the
 * other one does not exist).
 */
const moveAccountStore = (storeDir: string, from: string, to: string, log: (m: string) => void): void => {
  const src = join(storeDir, 'jetstream', from)
  const dst = join(storeDir, 'jetstream', to)
  if (existsSync(src) && !existsSync(dst)) {
    renameSync(src, dst)
    log(`moved the JetStream store of account ${from} to account ${to} (${dst}): auth mode ${to === APP_ACCOUNT ? 'on' : 'off'}`)
  }
}

/**
 * Connects to an external server. `auto`: anonymously, and if the server refuses anonymous
 * clients, with the processor's nkey (auth on). `on`: with the nkey, and only if the server
 * refuses anonymous clients and is auth-safe. `off`: anonymously.
 */
const connectExternal = async (config: Config, url: string, label: string, log: (m: string) => void): Promise<NatsSession> => {
  const fail = (e: unknown): never => {
    throw new Error(`cannot connect to ${label}: ${e instanceof Error ? e.message : String(e)}`)
  }
  const withKey = async (): Promise<NatsSession> => {
    const material = loadOrCreateAuthMaterial(resolve(projectRoot(), config.dataDir))
    const options = { ...longLivedConnection(url), ...processorAuth(material) }
    const nc = await connect({ ...options, name: 'allsource' }).catch((e: unknown) =>
      fail(isAuthError(e) ? new Error(`the server refused the processor's nkey; configure it with the block \`npm run cli -- auth server-config\` prints (${e instanceof Error ? e.message : String(e)})`) : e),
    )
    const version = nc.info?.version
    if (!authSafeVersion(version)) {
      await nc.close()
      throw new Error(`auth mode needs nats-server >= 2.12.12 (2.12 line) or >= 2.14.3; ${label} runs ${version ?? 'an unknown version'}, which has known permission bypasses (docs/security.md)`)
    }
    return { nc, server: undefined, where: `${url} (${label}, auth on)`, auth: { material, url }, connectAgain: (name) => connect({ ...options, name }) }
  }
  if (config.auth === 'on') {
    const anonymous = await tryConnect(url)
    if (anonymous !== undefined) {
      await anonymous.close()
      throw new Error(`ALLSOURCE_AUTH=on, but ${label} accepts clients without credentials; configure it with \`npm run cli -- auth server-config\` or use ALLSOURCE_AUTH=off`)
    }
    return withKey()
  }
  try {
    const nc = await connect({ ...longLivedConnection(url), name: 'allsource' })
    if (config.auth === 'auto') log(`WARNING: ${label} has no auth configured: running OPEN (any client can act on every tenant). Set ALLSOURCE_AUTH=on with a configured server for tenant isolation (docs/security.md)`)
    return { nc, server: undefined, where: `${url} (${label})`, auth: undefined, connectAgain: (name) => connect({ ...longLivedConnection(url), name }) }
  } catch (e) {
    if (config.auth === 'auto' && isAuthError(e)) return withKey()
    return fail(e)
  }
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
    return await connect({ servers: serversOf(url), timeout: 1_000, reconnect: false })
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
  if (config.natsUrl !== undefined) return connectExternal(config, config.natsUrl, `NATS_URL=${config.natsUrl}`, log)
  const root = projectRoot()
  const storeDir = resolve(root, config.dataDir)
  await clearDataDir(storeDir, log)
  if (config.embedded !== 'always') {
    const probe = await tryConnect(config.probeUrl)
    if (probe !== undefined) {
      if (await hasJetStream(probe)) {
        await probe.close()
        return connectExternal(config, config.probeUrl, `${config.probeUrl} (a running server with JetStream)`, log)
      }
      await probe.close()
    }
    if (config.embedded === 'never') {
      throw new Error(`no NATS server with JetStream answers at ${config.probeUrl}; set NATS_URL or ALLSOURCE_EMBEDDED=auto`)
    }
  }
  const material = config.auth === 'off' ? undefined : loadOrCreateAuthMaterial(storeDir)
  if (material !== undefined) moveAccountStore(storeDir, '$G', APP_ACCOUNT, log)
  else moveAccountStore(storeDir, APP_ACCOUNT, '$G', log)
  if (config.auth === 'off') log('WARNING: ALLSOURCE_AUTH=off: the embedded server runs OPEN (any client can act on every tenant); for development only')
  const launched = await launchNatsServer({
    ...(material !== undefined ? { appendConfig: serverAuthBlock(material), probeAuth: processorAuth(material) } : {}),
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
    // Our own server: if it dies for good, the processor exits after the client's usual 10 attempts
    // (the embedded server is not restarted behind its back).
    const options = { ...longLivedConnection(server.url), maxReconnectAttempts: 10, ...(material !== undefined ? processorAuth(material) : {}) }
    const nc = await connect({ ...options, name: 'allsource' })
    const version = nc.info?.version
    if (material !== undefined && !authSafeVersion(version)) {
      await nc.close()
      throw new Error(`auth mode needs nats-server >= 2.12.12 (2.12 line) or >= 2.14.3; the embedded server is ${version ?? 'unknown'}: run \`npm run nats-server\` to install a newer one, or ALLSOURCE_AUTH=off`)
    }
    return {
      nc,
      server,
      where: `${server.url} (embedded nats-server, pid ${server.pid}, store ${server.storeDir}${material !== undefined ? ', auth on' : ', auth OFF'})`,
      auth: material !== undefined ? { material, url: server.url } : undefined,
      connectAgain: (name) => connect({ ...options, name }),
    }
  } catch (e) {
    await server.stop()
    throw e
  }
}
