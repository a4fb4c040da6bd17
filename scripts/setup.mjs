// `prestart` and `pretest`: makes a fresh clone ready, with plain node and no dependencies.
//  1. `npm ci` when node_modules is missing or does not match package-lock.json;
//  2. `npm run nats-server` (scripts/ensureNatsServer.ts, which needs the tsx from step 1) when no
//     nats-server >= 2.12 is found (NATS_SERVER_BIN, PATH, /usr/sbin, /usr/local/bin, ./.nats-server).
//  3. with --browser (`pretest` only): Debian's `chromium` for the web console's browser tests
//     (test/e2e/console.test.ts), installed with `apt-get install -y chromium` (as root, or through
//     passwordless sudo; DEBIAN_FRONTEND=noninteractive) when no chromium is found. Without a usable
//     apt-get it says so loudly and the browser tier skips itself, as loudly.
// It says what it does, and nothing when there is nothing to do. ALLSOURCE_SKIP_SETUP=1 skips it.
import { execFileSync, spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, lstatSync, readFileSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const MIN_NATS_SERVER = '2.12.0'

const readJson = (path) => {
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    return undefined
  }
}

/**
 * Why `npm ci` must run, or undefined when node_modules matches the lockfile. `lock` is
 * package-lock.json, `installed` is node_modules/.package-lock.json (npm writes it on every
 * install; undefined when absent). Optional packages another platform needs may be absent.
 */
export const npmCiReason = ({ lock, nodeModules, installed }) => {
  if (!nodeModules) return 'node_modules is missing'
  if (lock === undefined || typeof lock.packages !== 'object') return 'package-lock.json is missing or unreadable'
  if (installed === undefined || typeof installed.packages !== 'object') return 'node_modules was not installed by npm from package-lock.json'
  for (const [path, want] of Object.entries(lock.packages)) {
    if (path === '' || want.link === true) continue
    const have = installed.packages[path]
    if (have === undefined) {
      if (want.optional === true || want.devOptional === true) continue
      return `${path} is missing`
    }
    if (have.version !== want.version) return `${path} is ${have.version}, package-lock.json wants ${want.version}`
  }
  return undefined
}

/** `2.15.1` from `nats-server: v2.15.1`, or undefined. */
export const parseVersion = (output) => /\bv?(\d+\.\d+\.\d+)/.exec(output)?.[1]

/** True when version a >= b (major.minor.patch). */
export const atLeast = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map((n) => Number.parseInt(n, 10) || 0))
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i]
  return true
}

/** Where a nats-server is looked for, in the order the processor looks (findNatsServer.ts). */
export const natsServerCandidates = (env, root) => [
  ...(env.NATS_SERVER_BIN ? [resolve(env.NATS_SERVER_BIN)] : []),
  ...[...(env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/sbin', '/usr/local/bin'].map((d) => resolve(d, 'nats-server')),
  join(root, '.nats-server', 'usr', 'sbin', 'nats-server'),
]

/** The first candidate that runs and is >= `MIN_NATS_SERVER` (`versionOf` runs `--version`). */
export const findNatsServer = (candidates, versionOf) => {
  for (const path of candidates) {
    const version = versionOf(path)
    if (version !== undefined && atLeast(version, MIN_NATS_SERVER)) return { path, version }
  }
  return undefined
}

/** Where Debian's chromium is looked for (the browser tests look in the same places: test/support/browser.ts). */
export const chromiumCandidates = (env) => [...(env.CHROMIUM_BIN ? [env.CHROMIUM_BIN] : []), '/usr/bin/chromium', '/usr/bin/chromium-browser']

/** What setup will do, as steps with their reasons (pure given its inputs). */
export const plan = ({ env, npmCi, natsServer, browser = false, chromium = true }) => {
  if (env.ALLSOURCE_SKIP_SETUP === '1') return []
  const steps = []
  if (npmCi !== undefined) steps.push({ step: 'npm ci', why: npmCi })
  if (natsServer === undefined) steps.push({ step: 'nats-server', why: `no nats-server >= ${MIN_NATS_SERVER} found` })
  if (browser && !chromium) steps.push({ step: 'chromium', why: 'no chromium found for the browser tests' })
  return steps
}

const commandExists = (name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0

/** `apt-get install -y chromium` as root or through passwordless sudo; false when apt is not usable or fails. */
const installChromium = () => {
  if (!commandExists('apt-get')) return false
  const root = process.getuid?.() === 0
  if (!root && !(commandExists('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0)) return false
  const run = (args) => spawnSync(root ? 'apt-get' : 'sudo', root ? args : ['-n', 'apt-get', ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0
  // A fresh machine may have no package lists yet: update once when the first try fails.
  return run(['install', '-y', '--no-install-recommends', 'chromium']) || (run(['update']) && run(['install', '-y', '--no-install-recommends', 'chromium']))
}

const versionOf = (path) => {
  try {
    accessSync(path, constants.X_OK)
    return parseVersion(execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'pipe'] }))
  } catch {
    return undefined
  }
}

const isSymlink = (path) => {
  try {
    return lstatSync(path).isSymbolicLink()
  } catch {
    return false
  }
}

const say = (line) => process.stderr.write(`setup: ${line}\n`)

const main = () => {
  const env = process.env
  if (env.ALLSOURCE_SKIP_SETUP === '1') return
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  const npmCi = npmCiReason({
    lock: readJson(join(root, 'package-lock.json')),
    nodeModules: existsSync(join(root, 'node_modules')),
    installed: readJson(join(root, 'node_modules', '.package-lock.json')),
  })
  // Checked after npm ci would be pointless: npm ci does not install nats-server.
  const natsServer = findNatsServer(natsServerCandidates(env, root), versionOf)
  const browser = process.argv.includes('--browser')
  const chromium = chromiumCandidates(env).some((p) => existsSync(p))
  for (const { step, why } of plan({ env, npmCi, natsServer, browser, chromium })) {
    if (step === 'chromium') {
      say(`${why}: installing Debian's chromium (apt-get install -y chromium)`)
      if (!installChromium()) say('!!! could not install chromium (no apt-get, or not root and no passwordless sudo): THE BROWSER TESTS WILL BE SKIPPED !!!')
      continue
    }
    if (step === 'npm ci' && isSymlink(join(root, 'node_modules'))) {
      // A node_modules shared with another checkout (a git worktree) is not this one's to replace.
      say(`${why}, but node_modules is a symlink (shared with another checkout): not running npm ci; run it where it points`)
    } else if (step === 'npm ci') {
      say(`${why}: running npm ci (ALLSOURCE_SKIP_SETUP=1 skips this)`)
      const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
      if (r.status !== 0) {
        say(`npm ci failed (exit ${r.status ?? r.signal})`)
        process.exit(1)
      }
    } else {
      say(`${why}: installing a project-local copy into .nats-server/ (npm run nats-server)`)
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'ensureNatsServer.ts')], { cwd: root, stdio: 'inherit' })
      if (r.status !== 0) {
        // An external server (NATS_URL) needs no local binary; everything else does.
        if (env.NATS_URL) say('could not install nats-server; going on, since NATS_URL names a server')
        else process.exit(1)
      }
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main()
