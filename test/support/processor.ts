import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, resolve } from 'node:path'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface ProcessorProcess {
  readonly proc: ChildProcess
  /** Everything the process printed so far. */
  output(): string
  /** Resolves when the log says `ready`; rejects if the process exits first. */
  ready(timeoutMs?: number): Promise<void>
  /** Resolves with the exit code (or signal name). */
  exited(): Promise<number | string>
}

/**
 * Runs the processor as a separate process: `src/main/start.ts` through tsx (as `npm run
 * start:dev`), or with `npmStart` literally `npm start` (a build, then the compiled processor).
 */
export const spawnProcessor = (
  env: Record<string, string>,
  /** `detached`: its own process group, so a test can signal the group as a terminal's Ctrl-C does. */
  options: { readonly npmStart?: boolean; readonly detached?: boolean } = {},
): ProcessorProcess => {
  const [command, args] = options.npmStart === true ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx', resolve(root, 'src/main/start.ts')]]
  const proc = spawn(command as string, args as string[], {
    cwd: root,
    // Never the default HTTP port 3900 (not ours to take): off unless the test gives a port.
    env: { ...process.env, ALLSOURCE_HTTP_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached === true,
  })
  let out = ''
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exit = new Promise<number | string>((res) => proc.on('exit', (code, signal) => res(code ?? signal ?? -1)))
  return {
    proc,
    output: () => out,
    ready: (timeoutMs = 30_000) =>
      new Promise<void>((res, rej) => {
        const started = Date.now()
        const tick = setInterval(() => {
          if (/ready/.test(out)) {
            clearInterval(tick)
            res()
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            clearInterval(tick)
            rej(new Error(`processor exited before ready:\n${out}`))
          } else if (Date.now() - started > timeoutMs) {
            clearInterval(tick)
            rej(new Error(`processor not ready after ${timeoutMs} ms:\n${out}`))
          }
        }, 50)
      }),
    exited: () => exit,
  }
}
