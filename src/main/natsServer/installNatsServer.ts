import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  MIN_NATS_SERVER_VERSION,
  type NatsServerBinary,
  installHint,
  probeNatsServer,
  projectRoot,
} from './findNatsServer.js'

/** The Debian archive keyring that verifies the package lists (package debian-archive-keyring). */
export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
/**
 * Debian unstable ("sid") ships nats-server >= 2.12 (2.15.1 on 2026-12-01); its package needs
 * only libc6 >= 2.34 and its static Go binary runs on Debian 12. Trixie's (2.10.27) is end of life
 * and is installed only as the old-server compatibility copy the tests use.
 */
const sourceOf = (suite: string): string => `deb [signed-by=${DEBIAN_KEYRING}] http://deb.debian.org/debian ${suite} main`

export interface InstallOptions {
  /** Project root; the copy goes into `<root>/.nats-server` (default: the directory of package.json). */
  readonly root?: string
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void
  /** Debian suite to take the package from (default `unstable`). */
  readonly suite?: string
  /** Directory under the root to unpack into (default `.nats-server`). */
  readonly dir?: string
  /** Oldest version accepted after unpacking (default {@link MIN_NATS_SERVER_VERSION}). */
  readonly minVersion?: string
}

/** Why this machine cannot use the apt route, or undefined when it can (Debian/Ubuntu with apt-get and dpkg). */
export const aptUnavailableReason = async (): Promise<string | undefined> => {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : ''
  if (!/^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(osRelease)) return 'this is not a Debian or Ubuntu machine'
  for (const tool of ['apt-get', 'dpkg']) {
    if ((await run(tool, ['--version'])).code !== 0) return `${tool} is not available`
  }
  if (!existsSync(DEBIAN_KEYRING)) {
    return `${DEBIAN_KEYRING} is missing, so the Debian package lists cannot be verified (install the debian-archive-keyring package)`
  }
  return undefined
}

/** Runs a command without stdin, capturing the last 8 KB of its output. */
const run = (cmd: string, args: readonly string[], cwd?: string): Promise<{ code: number; output: string }> =>
  new Promise((res) => {
    let output = ''
    const keep = (d: Buffer): void => {
      output = (output + d.toString()).slice(-8_192)
    }
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    p.stdout.on('data', keep)
    p.stderr.on('data', keep)
    p.on('error', (e) => res({ code: -1, output: e.message }))
    p.on('close', (code) => res({ code: code ?? -1, output }))
  })

const must = async (cmd: string, args: readonly string[], cwd?: string): Promise<void> => {
  const r = await run(cmd, args, cwd)
  if (r.code !== 0) throw new Error(`${cmd} ${args.at(-2) ?? ''} ${args.at(-1) ?? ''} failed (exit ${r.code}):\n${r.output.trim()}`)
}

/**
 * Installs nats-server into `<root>/.nats-server` without touching the system: apt-get runs with
 * a private sources list (Debian unstable by default, verified by the Debian archive keyring), private
 * lists, cache and preferences under `.nats-server/apt`, no locks; it only downloads the
 * `nats-server` package, which `dpkg -x` unpacks (no maintainer scripts, no dpkg database entry).
 * Resolves with the installed binary after checking it runs and is >= `minVersion` (2.12); rejects with a message
 * saying how to install by hand on any other machine or on failure.
 */
export const installNatsServer = async (opts: InstallOptions = {}): Promise<NatsServerBinary> => {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const why = await aptUnavailableReason()
  if (why !== undefined) throw new Error(`Cannot install nats-server automatically: ${why}.\n${installHint(MIN_NATS_SERVER_VERSION, [])}`)
  const root = opts.root ?? projectRoot()
  const suite = opts.suite ?? 'unstable'
  const minVersion = opts.minVersion ?? MIN_NATS_SERVER_VERSION
  const target = join(root, opts.dir ?? '.nats-server')
  const apt = join(target, 'apt')
  const download = join(apt, 'download')
  for (const d of ['lists/partial', 'cache/archives/partial', 'preferences.d', 'download']) mkdirSync(join(apt, d), { recursive: true })
  const sources = join(apt, 'sources.list')
  writeFileSync(sources, `${sourceOf(suite)}\n`)
  const aptOpts = [
    ['Dir::Etc::SourceList', sources],
    ['Dir::Etc::SourceParts', '/dev/null'],
    ['Dir::State::Lists', join(apt, 'lists')],
    ['Dir::Cache', join(apt, 'cache')],
    ['Dir::Etc::Preferences', '/dev/null'],
    ['Dir::Etc::PreferencesParts', join(apt, 'preferences.d')],
    ['APT::Get::List-Cleanup', '0'],
    ['Debug::NoLocking', '1'],
    // As root apt drops to the _apt user for downloads, which cannot write into this directory.
    ...(process.getuid?.() === 0 ? [['APT::Sandbox::User', 'root']] : []),
  ].flatMap(([k, v]) => ['-o', `${k}=${v}`])
  log(`nats-server: fetching the Debian ${suite} package list into ${apt} (the system's apt state is not touched)`)
  await must('apt-get', [...aptOpts, '-q', 'update'])
  for (const f of readdirSync(download)) rmSync(join(download, f), { force: true })
  log('nats-server: downloading the nats-server package')
  await must('apt-get', [...aptOpts, '-q', 'download', 'nats-server'], download)
  const deb = readdirSync(download).find((f) => f.startsWith('nats-server_') && f.endsWith('.deb'))
  if (deb === undefined) throw new Error(`apt-get download left no nats-server_*.deb in ${download}`)
  log(`nats-server: unpacking ${deb} into ${target}`)
  await must('dpkg', ['-x', join(download, deb), target])
  const binary = join(target, 'usr', 'sbin', 'nats-server')
  const installed = await probeNatsServer(binary, minVersion)
  if ('reason' in installed) {
    throw new Error(`the unpacked ${binary} is not usable: ${installed.reason}\n${installHint(minVersion, [])}`)
  }
  return installed
}
