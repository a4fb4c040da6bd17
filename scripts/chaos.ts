/**
 * `npm run chaos [-- --rounds N] [--faults a,b] [--processors 2] [--hold 8]`: the long form of the
 * chaos suite. Each round runs every fault in turn (SIGKILL the ALLSOURCE_EVENTS leader's node,
 * SIGKILL the processor holding the projection lease, restart the leader's node, cut the leader's
 * node off from its routes, fill the stream's byte limit) on a fresh 3-node R3 cluster with two
 * processors (child processes), a steady append load, the built-in projections and a durable
 * subscriber, checks the whole log after each fault and prints a summary table. Exit code 1 if any
 * check failed.
 *
 * `npm run chaos -- --overload [--seconds 60] [--factor 10] [--generators 2] [--pin]`: the overload run instead
 * (scripts/overload.ts).
 */
import { FAULTS, type FaultName, type FaultResult, runChaos, summaryTable } from '../test/support/chaos/chaosRun.js'

const value = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? undefined : process.argv[i + 1]
}
const num = (name: string, fallback: number): number => {
  const v = value(name)
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`)
  return n
}

const main = async (): Promise<number> => {
  if (process.argv.includes('--overload')) {
    const { runOverload } = await import('./overload.js')
    return runOverload({ seconds: num('seconds', 60), factor: num('factor', 10), generators: num('generators', 2), pin: process.argv.includes('--pin') })
  }
  const faults = (value('faults')?.split(',') ?? [...FAULTS]) as FaultName[]
  for (const f of faults) if (!(FAULTS as readonly string[]).includes(f)) throw new Error(`unknown fault "${f}"; one of ${FAULTS.join(', ')}`)
  const rounds = num('rounds', 1)
  const results: FaultResult[] = []
  for (let r = 1; r <= rounds; r++) {
    console.log(`round ${r} of ${rounds}: ${faults.join(', ')}`)
    const round = await runChaos({
      faults,
      processors: num('processors', 2),
      holdMs: num('hold', 8) * 1_000,
      log: (line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line.length > 600 ? `${line.slice(0, 600)}…` : line}`),
    })
    results.push(...round)
  }
  console.log(`\n${summaryTable(results)}\n`)
  const failed = results.filter((r) => !r.clean)
  for (const r of failed) console.log(`${r.fault} FAILED:\n${JSON.stringify(r.verdict, null, 2)}`)
  return failed.length === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  },
)
