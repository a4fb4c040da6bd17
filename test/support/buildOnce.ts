import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'

/**
 * Vitest global setup of the integration tier: compiles the processor and the CLI into `dist/`
 * (and the web console into `dist/console/`) once, before any file runs, and only when their
 * sources changed (`scripts/buildIfStale.mjs`, what `npm start` runs). The files that run the
 * compiled CLI or `npm start` then find an up-to-date build instead of each compiling it (two
 * compilers at once, racing on `dist/`, as before).
 */
export default function setup(): void {
  execFileSync(process.execPath, [resolve(import.meta.dirname, '../../scripts/buildIfStale.mjs')], { stdio: 'inherit' })
}
