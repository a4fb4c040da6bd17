import { execFile } from 'node:child_process'
import { accessSync, constants, existsSync, realpathSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The oldest nats-server the project starts itself (see DESIGN.md, "Fixed choices"). */
export const MIN_NATS_SERVER_VERSION = '2.12.0'

/** A nats-server binary that answered `--version` with a version we accept. */
export interface NatsServerBinary {
  readonly path: string
  /** Without the leading `v`, e.g. `2.10.27`. */
  readonly version: string
}

export interface FindNatsServerOptions {
  /** Environment to read `NATS_SERVER_BIN` and `PATH` from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv
  /** Project root holding `.nats-server/` (default: the directory containing package.json). */
  readonly root?: string
  /** Minimum accepted version (default {@link MIN_NATS_SERVER_VERSION}). */
  readonly minVersion?: string
}

/**
 * The project root: the nearest ancestor of this module's directory that contains a
 * package.json. Synchronous and side-effect free; throws if there is none (a broken checkout).
 */
export const projectRoot = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
}

/** Where `npm run nats-server` puts the project-local copy (extracted from the Debian package). */
export const localNatsServerPath = (root: string = projectRoot()): string =>
  join(root, '.nats-server', 'usr', 'sbin', 'nats-server')

/**
 * Extracts the version from `nats-server --version` output (`nats-server: v2.10.27`), without
 * the `v`; pre-release suffixes are kept (`2.11.0-RC.1`). Returns undefined when there is none.
 */
export const parseNatsServerVersion = (output: string): string | undefined =>
  /\bv?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\b/.exec(output)?.[1]

/**
 * Compares two `major.minor.patch[-pre]` versions numerically: negative when a < b, 0 when
 * equal, positive when a > b. A pre-release sorts before its release (`2.10.0-RC.1` < `2.10.0`);
 * two pre-releases of the same release compare as strings. Missing parts count as 0.
 */
export const compareVersions = (a: string, b: string): number => {
  const split = (v: string): [number[], string | undefined] => {
    const [core = '', ...pre] = v.replace(/^v/, '').split('-')
    return [core.split('.').map((p) => Number.parseInt(p, 10) || 0), pre.length > 0 ? pre.join('-') : undefined]
  }
  const [ca, pa] = split(a)
  const [cb, pb] = split(b)
  for (let i = 0; i < Math.max(ca.length, cb.length); i++) {
    const d = (ca[i] ?? 0) - (cb[i] ?? 0)
    if (d !== 0) return d
  }
  if (pa === pb) return 0
  if (pa === undefined) return 1
  if (pb === undefined) return -1
  return pa < pb ? -1 : 1
}

/**
 * Runs `<path> --version` (5 s timeout) and checks it against `minVersion`. Resolves with the
 * binary when it qualifies, else with the reason it does not; never rejects, never starts a server.
 */
export const probeNatsServer = (
  path: string,
  minVersion: string = MIN_NATS_SERVER_VERSION,
): Promise<NatsServerBinary | { readonly reason: string }> =>
  new Promise((res) => {
    execFile(path, ['--version'], { timeout: 5_000 }, (err, stdout, stderr) => {
      const version = parseNatsServerVersion(`${stdout}\n${stderr}`)
      if (version === undefined) {
        res({ reason: err ? `--version failed: ${err.message.trim()}` : `unrecognised --version output "${stdout.trim()}"` })
      } else if (compareVersions(version, minVersion) < 0) {
        res({ reason: `v${version} is older than ${minVersion}` })
      } else {
        res({ path, version })
      }
    })
  })

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Candidate paths in search order, each with where it came from. */
const candidates = (env: NodeJS.ProcessEnv, root: string): Array<{ path: string; from: string }> => {
  const list: Array<{ path: string; from: string }> = []
  const bin = env.NATS_SERVER_BIN
  if (bin !== undefined && bin !== '') list.push({ path: resolve(bin), from: 'NATS_SERVER_BIN' })
  const dirs = (env.PATH ?? '').split(delimiter).filter((d) => d !== '')
  for (const d of [...dirs, '/usr/sbin', '/usr/local/bin']) list.push({ path: resolve(d, 'nats-server'), from: 'PATH' })
  list.push({ path: localNatsServerPath(root), from: 'project-local copy' })
  return list
}

/** The message shown when no usable nats-server exists: how to get one, and what was skipped. */
export const installHint = (minVersion: string, skipped: readonly string[]): string =>
  [
    `No nats-server >= ${minVersion} found.`,
    ...(skipped.length > 0 ? ['Skipped:', ...skipped.map((s) => `  - ${s}`)] : []),
    'To fix, do one of:',
    '  - run `npm run nats-server` (installs a project-local copy into .nats-server/ on Debian/Ubuntu, without touching the system)',
    '  - set NATS_SERVER_BIN=/path/to/nats-server',
    `  - install nats-server >= ${minVersion} on your PATH from https://github.com/nats-io/nats-server/releases`,
  ].join('\n')

/**
 * Finds a nats-server of at least `minVersion` (default 2.12.0), trying in order `NATS_SERVER_BIN`,
 * every `nats-server` on PATH (plus /usr/sbin and /usr/local/bin), then the project-local copy
 * `<root>/.nats-server/usr/sbin/nats-server`. Only runs `--version` on candidates; never starts
 * a server. Resolves with the first candidate that qualifies; rejects with an Error whose message
 * lists each skipped candidate with its reason and says exactly how to install one.
 */
export const findNatsServer = async (opts: FindNatsServerOptions = {}): Promise<NatsServerBinary> => {
  const minVersion = opts.minVersion ?? MIN_NATS_SERVER_VERSION
  const skipped: string[] = []
  const probed = new Set<string>()
  for (const c of candidates(opts.env ?? process.env, opts.root ?? projectRoot())) {
    if (!existsSync(c.path)) {
      if (c.from !== 'PATH') skipped.push(`${c.path} (${c.from}): does not exist`)
      continue
    }
    // /sbin and /usr/sbin are often the same directory: say each binary once.
    const real = realpathSync(c.path)
    if (probed.has(real)) continue
    probed.add(real)
    if (!isExecutable(c.path)) {
      skipped.push(`${c.path} (${c.from}): not executable`)
      continue
    }
    const r = await probeNatsServer(c.path, minVersion)
    if ('reason' in r) skipped.push(`${c.path} (${c.from}): ${r.reason}`)
    else return r
  }
  throw new Error(installHint(minVersion, skipped))
}
