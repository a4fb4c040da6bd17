import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** What `<dataDir>/nats-server.lock.json` says: which embedded server runs on this store, for whom. */
export interface ServerLock {
  /** The nats-server's pid (it is its own process group). */
  readonly pid: number
  readonly port: number
  readonly url: string
  /** The processor that started it and stops it. */
  readonly processorPid: number
  readonly startedAt: string
}

export const LOCK_FILE = 'nats-server.lock.json'

export const lockPath = (dataDir: string): string => join(dataDir, LOCK_FILE)

/** True while a process with this pid exists (signal 0 only checks). */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * True when `pid` runs a nats-server. On Linux from /proc/<pid>/cmdline, so a pid reused by
 * another program is never taken for the server; elsewhere, from the pid being alive.
 */
export const isNatsServerProcess = (pid: number): boolean => {
  if (!processAlive(pid)) return false
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nats-server')
  } catch {
    return !existsSync('/proc/self/cmdline') // no /proc: trust the pid
  }
}

/** True when `pid` runs node (a processor); on Linux from /proc, so a reused pid is not taken for one. */
export const isProcessorProcess = (pid: number): boolean => {
  if (!processAlive(pid)) return false
  try {
    return /node|tsx/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))
  } catch {
    return !existsSync('/proc/self/cmdline')
  }
}

export const readServerLock = (dataDir: string): ServerLock | undefined => {
  try {
    const raw = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as Partial<ServerLock>
    if (typeof raw.pid !== 'number' || typeof raw.processorPid !== 'number') return undefined
    return { pid: raw.pid, port: raw.port ?? 0, url: raw.url ?? '', processorPid: raw.processorPid, startedAt: raw.startedAt ?? '' }
  } catch {
    return undefined
  }
}

/** Writes the lock atomically (a temp file renamed over it). */
export const writeServerLock = (dataDir: string, lock: ServerLock): void => {
  mkdirSync(dataDir, { recursive: true })
  const tmp = `${lockPath(dataDir)}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(lock, null, 2)}\n`)
  renameSync(tmp, lockPath(dataDir))
}

/** Removes the lock if it is still the one naming `pid`. */
export const releaseServerLock = (dataDir: string, pid: number): void => {
  if (readServerLock(dataDir)?.pid === pid) rmSync(lockPath(dataDir), { force: true })
}

/** What to do about the lock found in a data dir before starting the embedded server there. */
export type LockVerdict =
  | { readonly _tag: 'Free' }
  /** A lock whose server is gone: remove it. */
  | { readonly _tag: 'StaleLock'; readonly lock: ServerLock }
  /** A server left running by a processor that is gone (SIGKILL): stop it before starting a new one. */
  | { readonly _tag: 'Orphan'; readonly lock: ServerLock }
  /** A server whose processor is alive: the data dir is in use. */
  | { readonly _tag: 'InUse'; readonly lock: ServerLock }

/** Pure decision from the lock and what is alive (`self` is this process's pid). */
export const judgeLock = (
  lock: ServerLock | undefined,
  alive: { readonly server: (pid: number) => boolean; readonly processor: (pid: number) => boolean },
  self: number = process.pid,
): LockVerdict => {
  if (lock === undefined) return { _tag: 'Free' }
  if (!alive.server(lock.pid)) return { _tag: 'StaleLock', lock }
  if (lock.processorPid !== self && alive.processor(lock.processorPid)) return { _tag: 'InUse', lock }
  return { _tag: 'Orphan', lock }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Stops an orphaned server: SIGTERM to its process group (it was started as its own group), then
 * SIGKILL after `graceMs`. Resolves true once it is gone.
 */
export const stopOrphan = async (pid: number, graceMs = 5_000): Promise<boolean> => {
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(-pid, s)
    } catch {
      try {
        process.kill(pid, s) // not a group leader (an older start): the pid alone
      } catch {
        // already gone
      }
    }
  }
  signal('SIGTERM')
  for (let waited = 0; waited < graceMs; waited += 50) {
    if (!processAlive(pid)) return true
    await sleep(50)
  }
  signal('SIGKILL')
  for (let waited = 0; waited < 2_000; waited += 50) {
    if (!processAlive(pid)) return true
    await sleep(50)
  }
  return false
}

/**
 * Before the embedded server starts on `dataDir`: removes a stale lock, stops a server orphaned
 * by a killed processor (saying so), and refuses a data dir whose server and processor both live.
 */
export const clearDataDir = async (dataDir: string, log: (message: string) => void): Promise<void> => {
  const verdict = judgeLock(readServerLock(dataDir), { server: isNatsServerProcess, processor: isProcessorProcess })
  switch (verdict._tag) {
    case 'Free':
      return
    case 'StaleLock':
      log(`removing a stale ${lockPath(dataDir)} (nats-server pid ${verdict.lock.pid} is gone)`)
      rmSync(lockPath(dataDir), { force: true })
      return
    case 'InUse':
      throw new Error(
        `${dataDir} is in use: its embedded nats-server (pid ${verdict.lock.pid}, ${verdict.lock.url}) belongs to the running processor pid ${verdict.lock.processorPid}. ` +
          'Stop that processor, or set ALLSOURCE_DATA_DIR to another directory.',
      )
    case 'Orphan': {
      const { pid, processorPid, url } = verdict.lock
      log(`stopping the embedded nats-server left running by processor pid ${processorPid}, which is gone (pid ${pid}, ${url}, store ${dataDir})`)
      if (!(await stopOrphan(pid))) throw new Error(`could not stop the orphaned nats-server pid ${pid}`)
      rmSync(lockPath(dataDir), { force: true })
      log(`stopped the orphaned nats-server pid ${pid}`)
      return
    }
    default: {
      const never: never = verdict
      return never
    }
  }
}
