import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runBench } from '../../bench/run.js'

describe('npm run bench (smoke, no thresholds)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-bench-test-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('runs every built scenario with tiny workloads and writes the report', async () => {
    const rows = await runBench({ quick: true, rounds: 1, outDir: dir, jsonDir: dir, log: () => undefined })
    const measured = rows.filter((r) => r.note === undefined)
    expect(measured.length).toBeGreaterThan(15)
    // A conflict rate or a count of self-fences of 0 is a measurement (routed processors do not race, nor
    // miss their heartbeats on a quiet machine); every other figure is positive.
    for (const r of measured) {
      if (r.metric === 'conflict rate' || r.metric === 'self-fences') expect(r.value, `${r.scenario} ${r.metric}`).toBeGreaterThanOrEqual(0)
      else expect(r.value, `${r.scenario} ${r.metric}`).toBeGreaterThan(0)
    }
    expect(existsSync(join(dir, 'latest.json'))).toBe(true)
    const md = readFileSync(join(dir, 'benchmarks.md'), 'utf8')
    expect(md).toMatch(/\| 1 raw-limit \| throughput \|/)
    expect(md).toMatch(/## Targets\n\n.*\n\n- 3a library, throughput: [\d.]+×, target ≥ 0.8×: \*\*(not )?met\*\*/)
  }, 300_000)
})
