import { formatReport, runFuzz } from './fuzzEngine.js'
import { startFuzzTarget } from './fuzzTarget.js'

/**
 * `npm run fuzz -- --seconds N [--seed S]`: starts its own nats-server and processor, fuzzes for N
 * seconds (default 60), prints inputs tried, time, outcomes and every failure by signature (none
 * tolerated here), and exits 1 if there was any failure.
 */
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}
const number = (name: string, fallback: number | undefined): number | undefined => {
  const raw = arg(name)
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer; got "${raw}"`)
  return n
}

const main = async (): Promise<number> => {
  const seconds = number('--seconds', 60) ?? 60
  const seed = number('--seed', undefined)
  const target = await startFuzzTarget()
  process.stdout.write(`fuzzing for ${seconds} s against nats-server pid ${target.server.pid} and processor pid ${target.processor.proc.pid ?? '?'}\n`)
  try {
    const report = await runFuzz(target, { seconds, ...(seed !== undefined ? { seed } : {}), log: (l) => process.stdout.write(`${l}\n`) })
    process.stdout.write(`${formatReport(report)}\n`)
    return report.failures.length === 0 ? 0 : 1
  } finally {
    const stop = await target.stop()
    process.stdout.write(`processor stop on SIGTERM: ${stop.killed ? 'did not exit, killed after 20 s' : `exited in ${stop.exitMs} ms`}${stop.loggedStopped ? ', logged "stopped"' : ''}\n`)
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exit(2)
  },
)
