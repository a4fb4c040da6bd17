import { spawn } from 'node:child_process'
import { root } from './processor.js'

/** What a CLI run left: its exit code, stdout and stderr. */
export interface CliRun {
  readonly code: number
  readonly out: string
  readonly err: string
}

/** The CLI's variables cleared, so that no credential or context of the machine leaks into a test. */
export const CLEAN_CLI_ENV = { CI: 'true', ALLSOURCE_TOKEN: '', ALLSOURCE_TENANT: '', ALLSOURCE_CONTEXT: '', ALLSOURCE_BOOTSTRAP_KEY: '' } as const

/**
 * Runs `node <args…>` in the project root as a user types a command: no terminal, `env` as the
 * whole environment, `input` written to stdin (stdin closed when absent). Never rejects.
 */
export const runNode = (args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliRun> =>
  new Promise((res) => {
    const child = spawn(process.execPath, [...args], { cwd: root, env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
    if (input !== undefined) child.stdin?.end(input)
    child.on('error', (e) => res({ code: -1, out, err: `${err}${e.message}` }))
    child.on('exit', (code) => res({ code: code ?? -1, out, err }))
  })
