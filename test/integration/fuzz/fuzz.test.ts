import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatReport, type FuzzOptions, runFuzz } from '../../support/fuzz/fuzzEngine.js'
import { type FuzzTarget, startFuzzTarget } from '../../support/fuzz/fuzzTarget.js'

/**
 * Failures caused by defects other helpers are fixing in parallel (issue 10), tolerated here so
 * this test passes now. Each entry is a failure signature and the item that fixes it: once that
 * fix is merged, delete the entry, and this test guards it from then on.
 */
/**
 * Failure signatures tolerated while their fix is pending: empty. The four the first runs found
 * (replies over max_payload, the consumer leak, subscription dates JetStream cannot parse, dead
 * letters over max_payload) are fixed; a new entry needs a reason and an open issue.
 */
export const KNOWN: NonNullable<FuzzOptions['known']> = []

describe('fuzz: generated and mutated input against a real processor and nats-server', () => {
  let target: FuzzTarget

  beforeAll(async () => {
    target = await startFuzzTarget()
  })
  afterAll(async () => {
    // Item 8: after a fuzz the processor used to ignore SIGTERM; it must exit by itself and say so.
    const stop = await target.stop()
    expect(stop.killed).toBe(false)
    expect(stop.loggedStopped).toBe(true)
  })

  it('8 s of fuzzing: no crash, no hang, no event from rejected input, a contract code on every failure reply', async () => {
    const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined
    const report = await runFuzz(target, { seconds: 8, known: KNOWN, ...(seed !== undefined ? { seed } : {}) })
    const text = formatReport(report)
    console.log(text)
    expect(report.inputs).toBeGreaterThan(100)
    expect(report.crashed, text).toBe(false)
    expect(report.hangs, text).toBe(0)
    expect(report.writtenFromRejected, text).toBe(0)
    expect(report.failures, text).toEqual([])
  })
})
