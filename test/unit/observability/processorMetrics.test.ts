import { describe, expect, it } from 'vitest'
import { createProcessorMetrics } from '../../../src/adapters/metrics/processorMetrics.js'
import { sampleValue } from '../../support/promText.js'

describe('processor metrics sampled on scrape', () => {
  it('counts events folded across a fold restart (its count starts again from 0) without losing or repeating any', async () => {
    const m = createProcessorMetrics({ processMetrics: false })
    let folded = 10
    m.watch({ projections: () => [{ name: 'p', lag: 3, folded }] })
    const value = async () => sampleValue(await m.text(), 'allsource_projection_events_folded_total', { projection: 'p' })
    expect(await value()).toBe(10)
    folded = 25
    expect(await value()).toBe(25)
    folded = 5 // restarted: 5 new events since
    expect(await value()).toBe(30)
    expect(sampleValue(await m.text(), 'allsource_projection_lag_commits', { projection: 'p' })).toBe(3)
  })

  it('reads JetStream for ingest figures at most once per cache period, and keeps the last figures when a read fails', async () => {
    const m = createProcessorMetrics({ processMetrics: false, ingestCacheMs: 60_000 })
    let calls = 0
    m.watch({ ingest: async () => ({ pending: ++calls, deadLetters: 7 }) })
    for (let i = 0; i < 3; i++) await m.text()
    expect(calls).toBe(1)
    expect(sampleValue(await m.text(), 'allsource_ingest_pending_messages')).toBe(1)

    const failing = createProcessorMetrics({ processMetrics: false, ingestCacheMs: 0 })
    let fail = false
    failing.watch({ ingest: async () => (fail ? Promise.reject(new Error('JetStream down')) : { pending: 4, deadLetters: 2 }) })
    expect(sampleValue(await failing.text(), 'allsource_ingest_dlq_messages')).toBe(2)
    fail = true
    const text = await failing.text()
    expect(sampleValue(text, 'allsource_ingest_dlq_messages')).toBe(2)
    expect(sampleValue(text, 'allsource_ingest_pending_messages')).toBe(4)
  })

  it('counts refusals at the cap from the limit\'s running total', async () => {
    const m = createProcessorMetrics({ processMetrics: false })
    let refused = 0
    m.watch({ requests: () => ({ inFlight: 1, max: 10, refused }) })
    refused = 4
    expect(sampleValue(await m.text(), 'allsource_requests_refused_total')).toBe(4)
    refused = 6
    expect(sampleValue(await m.text(), 'allsource_requests_refused_total')).toBe(6)
  })

  it('counts runs by outcome and the commits stored in them from the running totals', async () => {
    const m = createProcessorMetrics({ processMetrics: false })
    let runs = { stored: 2, notStored: 1, commits: 30 }
    m.watch({ runs: () => runs })
    const text = await m.text()
    expect(sampleValue(text, 'allsource_append_runs_total', { outcome: 'stored' })).toBe(2)
    expect(sampleValue(text, 'allsource_append_runs_total', { outcome: 'not_stored' })).toBe(1)
    expect(sampleValue(text, 'allsource_append_run_commits_total')).toBe(30)
    runs = { stored: 5, notStored: 1, commits: 75 }
    const later = await m.text()
    expect(sampleValue(later, 'allsource_append_runs_total', { outcome: 'stored' })).toBe(5)
    expect(sampleValue(later, 'allsource_append_run_commits_total')).toBe(75)
  })

  it('exposes nothing for a source not watched (no made-up zero)', async () => {
    const m = createProcessorMetrics({ processMetrics: false })
    const text = await m.text()
    expect(sampleValue(text, 'allsource_projection_lag_commits', { projection: 'p' })).toBeUndefined()
    expect(text).toContain('# TYPE allsource_append_duration_seconds histogram')
  })
})
