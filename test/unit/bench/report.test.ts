import { describe, expect, it } from 'vitest'
import { type Row, verdicts } from '../../../bench/report.js'

const rows = (over: Partial<Record<string, number>> = {}): Row[] => {
  const v = (k: string, d: number) => over[k] ?? d
  return [
    { scenario: '1 raw-limit', metric: 'throughput', value: 80_000, unit: 'events/s' },
    { scenario: '3a library', metric: 'throughput', value: v('library', 20_000), unit: 'events/s', baseline: '1 raw-limit/throughput', target: '≥ 0.8×' },
    { scenario: '3d actor floor', metric: 'xstate alone, 2 events/append', value: v('floor', 9), unit: 'µs cpu/append' },
    { scenario: '3d actor floor', metric: 'library budget at 0.8× raw', value: 15.6, unit: 'µs/append' },
    { scenario: '3e actor path', metric: 'library append without I/O', value: v('path', 29), unit: 'µs cpu/append' },
    { scenario: '3c forwarder', metric: 'throughput', value: 21_000, unit: 'events/s' },
    { scenario: '3b service', metric: 'throughput', value: 13_000, unit: 'events/s', baseline: '3c forwarder/throughput', target: '≥ 0.85×' },
    { scenario: '3b service', metric: 'cpu processor', value: 74, unit: 'µs/append' },
    { scenario: '3f service, no actor', metric: 'throughput', value: 19_500, unit: 'events/s', baseline: '3c forwarder/throughput' },
    { scenario: '3f service, no actor', metric: 'cpu processor', value: v('bare', 27), unit: 'µs/append' },
    { scenario: '3f service, no actor', metric: 'processor budget at 0.85×', value: 34, unit: 'µs/append' },
    { scenario: '9 hydration', metric: 'snapshot', value: 0.4, unit: 'ms', target: '≤ 5 ms' },
  ]
}

describe('bench verdicts', () => {
  it('says which targets are met, from the ratios of the same run', () => {
    const v = verdicts(rows())
    expect(v).toContain('- 3a library, throughput: 0.25×, target ≥ 0.8×: **not met**.')
    expect(v).toContain('- 3b service, throughput: 0.62×, target ≥ 0.85×: **not met**.')
    expect(v).toContain('- 9 hydration, snapshot: 0.40 ms, target ≤ 5 ms: **met**.')
  })

  it('bounds the figure itself when the target has a unit, even on a row with a baseline', () => {
    const v = verdicts([
      { scenario: '13 connect, anonymous', metric: 'p99', value: 2, unit: 'ms' },
      { scenario: '13 connect, callout', metric: 'p99', value: 30, unit: 'ms', baseline: '13 connect, anonymous/p99', target: '≤ 50 ms' },
    ])
    expect(v).toContain('- 13 connect, callout, p99: 30.0 ms, target ≤ 50 ms: **met**.')
  })

  it('calls a target out of reach only when the same run shows the floor above the budget', () => {
    const out = verdicts(rows())
    expect(out.find((l) => l.startsWith('- Library at 0.8×'))).toMatch(/out of reach.*29\.0 µs.*15\.6 µs/)
    expect(out.find((l) => l.startsWith('- Service at 0.85×'))).toMatch(/out of reach.*leaves 7\.00 µs for the actor.*\(9\.00 µs, 3d\).*47\.0 µs/)
    const fits = verdicts(rows({ path: 12, bare: 20 }))
    expect(fits.find((l) => l.startsWith('- Library at 0.8×'))).not.toMatch(/out of reach/)
    expect(fits.find((l) => l.startsWith('- Service at 0.85×'))).not.toMatch(/out of reach/)
  })
})
