import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type ConnectionOptions } from '@nats-io/transport-node'
import { findNatsServer } from './findNatsServer.js'
import { configuredStoreDir, deriveNatsConfig } from './natsServerConfig.js'

export interface LaunchNatsServerOptions {
  /** nats-server binary (default: {@link findNatsServer}, i.e. >= 2.12). */
  readonly binary?: string
  /** A nats.conf. The server runs with its directory as cwd, so relative paths resolve there. */
  readonly configFile?: string
  /** Client address (`-a`, default 127.0.0.1); overrides the file's `listen` host. */
  readonly host?: string
  /** Client port (`-p`). 0 picks a free one; absent picks a free one unless configFile sets it. */
  readonly port?: number
  /** JetStream store_dir (the server adds `jetstream/` below it); overrides the file's. */
  readonly storeDir?: string
  /** Run with `-js` and wait for JetStream (default true). */
  readonly jetstream?: boolean
  /** `sync_interval: always`: fsync before every ack (power-loss durability, lower throughput). */
  readonly syncAlways?: boolean
  readonly extraArgs?: readonly string[]
  /** How long to wait for the server to answer (default 15 s). */
  readonly startTimeoutMs?: number
  /**
   * Run the server as its own process group (default false), so a Ctrl-C at the terminal reaches
   * only this process, which stops the server when it is done with it (the embedded server). Off,
   * the server shares this process's group and a Ctrl-C stops both (test servers).
   */
  readonly ownProcessGroup?: boolean
  /** Configuration text appended to the file's (or to an empty one): the auth block of the embedded server. */
  readonly appendConfig?: string
  /** How the launcher's readiness probe authenticates (a server with auth on refuses anonymous clients). */
  readonly probeAuth?: Pick<ConnectionOptions, 'authenticator' | 'token' | 'user' | 'pass'>
}

/** A nats-server this process started. */
export interface RunningNatsServer {
  /** `nats://host:port`, reachable from this machine. */
  readonly url: string
  readonly port: number
  readonly pid: number
  /** The JetStream store_dir; nats-server keeps its data in `<storeDir>/jetstream`. */
  readonly storeDir: string
  /** SIGTERM to this server's pid only, SIGKILL after 5 s; resolves once it exited. Idempotent. */
  stop(): Promise<void>
  /** Sends `signal` to this server's pid, if it is still running (crash tests). */
  kill(signal: NodeJS.Signals): void
  /** The last 16 KB the server printed. */
  output(): string
}

/** A port that was free on `host` a moment ago (the OS picks it; a race is retried by the launcher). */
export const freePort = (host = '127.0.0.1'): Promise<number> =>
  new Promise((res, rej) => {
    const s = createServer()
    s.once('error', rej)
    s.listen(0, host, () => {
      const addr = s.address()
      s.close(() => (addr !== null && typeof addr === 'object' ? res(addr.port) : rej(new Error('no port'))))
    })
  })

const running = (p: ChildProcess): boolean => p.exitCode === null && p.signalCode === null

// Servers started here and not stopped yet, with their private temp dirs: if this process exits
// first, they get SIGTERM too and the temp dirs are removed (best effort).
const children = new Map<ChildProcess, string>()
process.once('exit', () => {
  for (const [c, runDir] of children) {
    if (running(c)) c.kill('SIGTERM')
    rmSync(runDir, { recursive: true, force: true })
  }
})
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Starts nats-server as a child process and resolves once it accepts client connections and, with
 * JetStream on, `getAccountInfo()` answers. Rejects after `startTimeoutMs` (15 s) or when the
 * server exits, with its output in the message, and leaves nothing running. A free port that got
 * taken in between is retried twice. Only ever signals the pid it spawned; the child is also
 * sent SIGTERM if this process exits without stopping it.
 */
export const launchNatsServer = async (o: LaunchNatsServerOptions = {}): Promise<RunningNatsServer> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOnce(o)
    } catch (e) {
      const autoPort = o.port === 0 || (o.port === undefined && o.configFile === undefined)
      if (!(autoPort && attempt < 3 && /address already in use/i.test(messageOf(e)))) throw e
    }
  }
}

const launchOnce = async (o: LaunchNatsServerOptions): Promise<RunningNatsServer> => {
  const binary = o.binary ?? (await findNatsServer()).path
  const host = o.host ?? '127.0.0.1'
  const jetstream = o.jetstream ?? true
  const runDir = mkdtempSync(join(tmpdir(), 'allsource-nats-'))
  const cwd = o.configFile === undefined ? process.cwd() : dirname(resolve(o.configFile))
  const original = o.configFile === undefined ? '' : readFileSync(o.configFile, 'utf8')
  const wantedStore = o.storeDir === undefined ? undefined : resolve(o.storeDir)
  const derived = deriveNatsConfig(original, { ...(wantedStore ? { storeDir: wantedStore } : {}), syncAlways: o.syncAlways ?? false, ...(o.appendConfig !== undefined ? { append: o.appendConfig } : {}) })
  const fromFile = configuredStoreDir(derived.text)
  const storeDir = wantedStore ?? (fromFile !== undefined ? resolve(cwd, fromFile) : join(runDir, 'store'))
  if (jetstream) mkdirSync(storeDir, { recursive: true })
  let configPath = o.configFile === undefined ? undefined : resolve(o.configFile)
  if (derived.text !== original) writeFileSync((configPath = join(runDir, 'nats.conf')), derived.text, { mode: 0o600 })
  const args = configPath === undefined ? [] : ['-c', configPath]
  const port = o.port === undefined && o.configFile !== undefined ? undefined : o.port || (await freePort(host))
  args.push('-a', host, ...(port === undefined ? [] : ['-p', String(port)]), '--ports_file_dir', runDir)
  if (jetstream) args.push('-js', ...(derived.storeDirAsFlag || fromFile === undefined ? ['-sd', storeDir] : []))
  args.push(...(o.extraArgs ?? []))

  const proc = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: o.ownProcessGroup === true })
  let out = ''
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-16_384)
  }
  proc.stdout.on('data', keep)
  proc.stderr.on('data', keep)
  const exited = new Promise<void>((r) => proc.once('close', () => r()))
  const spawnError = new Promise<Error>((r) => proc.once('error', r))
  children.set(proc, runDir)
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      children.delete(proc)
      if (proc.pid !== undefined) {
        if (running(proc)) proc.kill('SIGTERM')
        const t = setTimeout(() => running(proc) && proc.kill('SIGKILL'), 5_000)
        await exited // also when it had exited already: 'close' means its output is all read
        clearTimeout(t)
      }
      rmSync(runDir, { recursive: true, force: true })
    })())
  const fail = async (why: string): Promise<never> => {
    await stop()
    throw new Error(`nats-server ${why} (${binary} ${args.join(' ')}, cwd ${cwd}):\n${out.trim()}`)
  }

  const deadline = Date.now() + (o.startTimeoutMs ?? 15_000)
  let url: string | undefined
  let lastError = 'not started'
  for (;;) {
    if (proc.pid === undefined) return fail(`could not be spawned: ${messageOf(await spawnError)}`)
    if (!running(proc)) return fail(`exited with ${proc.exitCode ?? proc.signalCode} while starting`)
    if (Date.now() > deadline) return fail(`was not ready after ${o.startTimeoutMs ?? 15_000} ms (${lastError})`)
    // Only once this server has written its ports file (it listens): another server on the same
    // port (an orphan) must not be taken for it.
    url ??= portsFileUrl(runDir, host, proc.pid, port)
    if (url !== undefined && (await ready(url, jetstream, o.probeAuth).then(() => true, (e: unknown) => ((lastError = messageOf(e)), false)))) break
    await sleep(50)
  }
  const finalUrl = url
  return {
    url: finalUrl,
    port: Number(new URL(finalUrl).port),
    pid: proc.pid,
    storeDir,
    stop,
    kill: (signal) => void (running(proc) && proc.kill(signal)),
    output: () => out,
  }
}

/** A wildcard listen address is reached through loopback. */
const connectHost = (host: string): string => (host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host)

/** The client URL from the ports file of server `pid` (written once it listens), or undefined before. */
const portsFileUrl = (dir: string, host: string, pid: number, port: number | undefined): string | undefined => {
  const file = readdirSync(dir).find((f) => f.endsWith(`_${pid}.ports`))
  if (file !== undefined && port !== undefined) return `nats://${connectHost(host)}:${port}`
  if (file === undefined) return undefined
  try {
    const first = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nats?: string[] }).nats?.[0]
    return first === undefined ? undefined : `nats://${connectHost(host)}:${new URL(first).port}`
  } catch {
    return undefined // still being written
  }
}

/** Resolves once a client can connect and, with JetStream, the account info answers. */
const ready = async (url: string, jetstream: boolean, auth: LaunchNatsServerOptions['probeAuth']): Promise<void> => {
  const nc = await connect({ servers: url, timeout: 1_000, reconnect: false, name: 'allsource-launcher', ...auth })
  try {
    if (jetstream) await (await jetstreamManager(nc, { timeout: 2_000 })).getAccountInfo()
  } finally {
    await nc.close()
  }
}
