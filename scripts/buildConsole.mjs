// The web console's build (docs/console.md): esbuild bundles console/src/main.tsx (Preact) into
// dist/console/app.js and copies console/index.html and console/style.css beside it. No CDN, no
// network: everything the page loads is in dist/console/, served by the gateway at /console.
//
// Runs from `prestart` (scripts/buildIfStale.mjs) only when the console's inputs changed: every
// file under console/ plus package-lock.json (a new preact is a new bundle). Their fingerprint
// (path, size, mtime) is kept in dist/console/.build-fingerprint after a successful build.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { filesUnder, fingerprintOf } from './fingerprint.mjs'

export const CONSOLE_SOURCE = 'console'
export const CONSOLE_OUT = join('dist', 'console')
export const CONSOLE_FINGERPRINT = join(CONSOLE_OUT, '.build-fingerprint')
/** The files a build writes; the gateway serves exactly these. */
export const CONSOLE_FILES = ['index.html', 'app.js', 'style.css']

/** Fingerprint of the console's inputs under `root` (path, size and mtime of each, in path order). */
export const consoleFingerprint = (root) => fingerprintOf(root, [...filesUnder(join(root, CONSOLE_SOURCE)), join(root, 'package-lock.json')])

/** Why the console must be built, or undefined when dist/console is up to date. */
export const consoleStaleReason = (root, force = false) => {
  if (force) return 'ALLSOURCE_FORCE_BUILD is set'
  if (!existsSync(join(root, CONSOLE_SOURCE, 'src', 'main.tsx'))) return undefined // a package without the console's sources
  for (const f of CONSOLE_FILES) if (!existsSync(join(root, CONSOLE_OUT, f))) return `${join(CONSOLE_OUT, f)} is missing`
  let previous
  try {
    previous = readFileSync(join(root, CONSOLE_FINGERPRINT), 'utf8').trim()
  } catch {
    return 'no record of the last console build'
  }
  return previous === consoleFingerprint(root) ? undefined : 'console sources changed since the last build'
}

/** Builds the console into dist/console (minified, one bundle, source map inline off). Throws on a build error. */
export const buildConsole = async (root) => {
  const before = consoleFingerprint(root)
  const { build } = await import('esbuild')
  const out = join(root, CONSOLE_OUT)
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  await build({
    entryPoints: [join(root, CONSOLE_SOURCE, 'src', 'main.tsx')],
    outfile: join(out, 'app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: root,
  })
  copyFileSync(join(root, CONSOLE_SOURCE, 'index.html'), join(out, 'index.html'))
  copyFileSync(join(root, CONSOLE_SOURCE, 'style.css'), join(out, 'style.css'))
  writeFileSync(join(root, CONSOLE_FINGERPRINT), `${before}\n`)
}

/** Builds when stale; says why. */
export const buildConsoleIfStale = async (root, force = false) => {
  const reason = consoleStaleReason(root, force)
  if (reason === undefined) return false
  process.stderr.write(`building the web console (${reason})\n`)
  await buildConsole(root)
  return true
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  buildConsoleIfStale(root, process.argv.includes('--force') || process.env.ALLSOURCE_FORCE_BUILD === '1').catch((e) => {
    process.stderr.write(`console build failed: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  })
}
