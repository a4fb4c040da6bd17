import { describe, expect, it } from 'vitest'
import { diffJson } from '../../../console/src/diff.js'
import { buckets, parseMetrics, quantile, sum } from '../../../console/src/metrics.js'

describe('console: the payload diff', () => {
  it('lists added, removed and changed paths, depth first, arrays by index', () => {
    expect(diffJson({ total: 42, items: ['a'], note: 'x' }, { total: 40, items: ['a', 'b'], paid: true })).toEqual([
      { path: 'items[1]', kind: 'added', after: 'b' },
      { path: 'note', kind: 'removed', before: 'x' },
      { path: 'paid', kind: 'added', after: true },
      { path: 'total', kind: 'changed', before: 42, after: 40 },
    ])
    expect(diffJson({ a: { b: 1 } }, { a: { b: 1 } })).toEqual([])
    expect(diffJson(1, 'x')).toEqual([{ path: '(whole payload)', kind: 'changed', before: 1, after: 'x' }])
  })
})

describe('console: the /metrics reader', () => {
  const text = [
    '# HELP allsource_append_duration_seconds x',
    'allsource_append_duration_seconds_bucket{le="0.001",source="http",outcome="ok"} 90',
    'allsource_append_duration_seconds_bucket{le="0.01",source="http",outcome="ok"} 99',
    'allsource_append_duration_seconds_bucket{le="0.1",source="http",outcome="ok"} 100',
    'allsource_append_duration_seconds_bucket{le="+Inf",source="http",outcome="ok"} 100',
    'allsource_append_duration_seconds_count{source="http",outcome="ok"} 100',
    'allsource_append_duration_seconds_count{source="service",outcome="ok"} 5',
    'allsource_projection_lag_commits{projection="entity-state"} 3',
    'garbage line',
  ].join('\n')
  it('parses samples with labels, sums a family and takes a quantile bucket of a histogram', () => {
    const s = parseMetrics(text)
    expect(sum(s, 'allsource_append_duration_seconds_count')).toBe(105)
    expect(s.find((x) => x.name === 'allsource_projection_lag_commits')?.labels).toEqual({ projection: 'entity-state' })
    expect(quantile(0.99, buckets(s, 'allsource_append_duration_seconds'))).toBe(0.01)
    expect(quantile(0.5, buckets(s, 'allsource_append_duration_seconds'))).toBe(0.001)
    // Over an interval: only the new observations count; none is undefined.
    const b = buckets(s, 'allsource_append_duration_seconds')
    expect(quantile(0.99, b, b)).toBeUndefined()
  })
})
