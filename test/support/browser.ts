import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'
import { chromiumCandidates } from '../../scripts/setup.mjs'

/** The first chromium found: `CHROMIUM_BIN`, then Debian's paths (setup.mjs installs and looks in the same places). */
export const findChromium = (env: NodeJS.ProcessEnv = process.env): string | undefined => chromiumCandidates(env).find((p) => existsSync(p))

const exists = (command: string): boolean => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0

/** Whether `npm test`'s setup could have installed chromium here: apt-get, as root or with passwordless sudo. */
export const hasApt = (): boolean => exists('apt-get') && (process.getuid?.() === 0 || (exists('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0))

/**
 * Why the browser tier cannot run here, or undefined when it can. Without chromium it is skipped
 * (loudly, by the caller) only where apt-get is missing: on a Debian machine `npm test`'s setup
 * (scripts/setup.mjs) installs it, so a missing chromium there is a failure, not a skip.
 */
export const browserTierBlocked = (): string | undefined => {
  if (findChromium() !== undefined) return undefined
  if (hasApt()) throw new Error('chromium is not installed although apt-get is usable: run `npm test` (its setup installs it) or `apt-get install -y chromium`')
  return 'no chromium (/usr/bin/chromium or CHROMIUM_BIN) and no apt-get to install it'
}

export interface RunningBrowser {
  readonly browser: Browser
  close(): Promise<void>
}

/**
 * Debian's chromium through playwright-core (nothing downloaded), headless, with no background
 * networking (the machine's closed network refuses it). playwright-core gives every launch a fresh
 * empty profile of its own (it refuses `--user-data-dir` in `args`) and removes it on close.
 */
export const launchChromium = async (): Promise<RunningBrowser> => {
  const executablePath = findChromium()
  if (executablePath === undefined) throw new Error('no chromium')
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined)
    },
  }
}
