// `prestart`: compiles the processor (`tsc -p tsconfig.build.json` into dist/) only when its inputs
// changed since the last successful build. A restart after a crash (kill -9, a supervisor's
// restart) then runs the processor at once instead of spending seconds in the compiler.
//
// The inputs are every file under src/, actors/ and bench/ plus tsconfig.json,
// tsconfig.build.json, package.json and package-lock.json. Their fingerprint (path, size and
// modification time of each) is written to dist/.build-fingerprint after a build succeeds; a build
// runs when the file is missing, differs, or the compiled entry point is missing. A file added,
// changed, touched or deleted changes the fingerprint. ALLSOURCE_FORCE_BUILD=1 always builds.
// Then the web console (scripts/buildConsole.mjs), with a fingerprint of its own over console/.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildConsoleIfStale } from './buildConsole.mjs'
import { filesUnder, fingerprintOf } from './fingerprint.mjs'

export const INPUT_DIRS = ['src', 'actors', 'bench']
export const INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json']
export const FINGERPRINT_FILE = join('dist', '.build-fingerprint')
export const ENTRY = join('dist', 'src', 'main', 'start.js')

/** The fingerprint of the build's inputs under `root`: a hash over each file's path, size and mtime, in path order. */
export const fingerprint = (root) =>
  fingerprintOf(root, [...INPUT_DIRS.flatMap((d) => filesUnder(join(root, d))), ...INPUT_FILES.map((f) => join(root, f))])

/** Why the build must run, or undefined when dist/ is up to date. */
export const staleReason = (root, force = false) => {
  if (force) return 'ALLSOURCE_FORCE_BUILD is set'
  if (!existsSync(join(root, ENTRY))) return `${ENTRY} is missing`
  let previous
  try {
    previous = readFileSync(join(root, FINGERPRINT_FILE), 'utf8').trim()
  } catch {
    return 'no record of the last build'
  }
  return previous === fingerprint(root) ? undefined : 'sources changed since the last build'
}

const buildProcessor = (root) => {
  const reason = staleReason(root, process.env.ALLSOURCE_FORCE_BUILD === '1')
  if (reason === undefined) return
  const before = fingerprint(root)
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) {
    process.stderr.write(`build failed (${reason}); see the compiler's messages above\n`)
    process.exit(r.status ?? 1)
  }
  // The fingerprint taken before compiling: a source edited during the build triggers the next one.
  writeFileSync(join(root, FINGERPRINT_FILE), `${before}\n`)
}

const main = async () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  buildProcessor(root)
  try {
    await buildConsoleIfStale(root, process.env.ALLSOURCE_FORCE_BUILD === '1')
  } catch (e) {
    process.stderr.write(`web console build failed: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main()
