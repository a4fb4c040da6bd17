import { headers } from '@nats-io/transport-node'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { deadLetterHeaders, headerBytes, truncateUtf8 } from '../../../src/adapters/nats/ingest/deadLetterHeaders.js'
import { rateLimitedLog } from '../../../src/adapters/nats/ingest/deadLetterLog.js'
import { RecentSet } from '../../../src/adapters/nats/ingest/recentSet.js'

const entries = (h: ReturnType<typeof headers>): [string, string][] => [...h].flatMap(([k, vs]) => vs.map((v): [string, string] => [k, v]))
const utf8Length = (s: string) => new TextEncoder().encode(s).length

describe('RecentSet (streams checked against their last commitId)', () => {
  it('never holds more than its bound, forgetting the least recently used', () => {
    const s = new RecentSet(10_000)
    for (let i = 0; i < 25_000; i++) s.add(`allsource.ingest.acme.s-${i}`)
    expect(s.size).toBe(10_000)
    expect(s.has('allsource.ingest.acme.s-0')).toBe(false)
    expect(s.has('allsource.ingest.acme.s-24999')).toBe(true)
    const small = new RecentSet(2)
    small.add('a')
    small.add('b')
    expect(small.has('a')).toBe(true) // a is now the most recent
    small.add('c')
    expect([small.has('a'), small.has('b'), small.has('c'), small.size]).toEqual([true, false, true, 2])
  })
})

describe('rateLimitedLog (dead letters)', () => {
  afterEach(() => vi.useRealTimers())

  it('logs at most 10 lines per 10 s and sums up the rest when the window ends', () => {
    vi.useFakeTimers()
    const lines: string[] = []
    const log = rateLimitedLog((l) => lines.push(l), 'dead letters')
    for (let i = 0; i < 25; i++) log(`dead ${i}`)
    expect(lines).toHaveLength(10)
    vi.advanceTimersByTime(10_000)
    expect(lines.at(-1)).toBe('15 more dead letters not logged in the last 10 s')
    log('dead 25')
    expect(lines.at(-1)).toBe('dead 25')
    log.flush()
    expect(lines).toHaveLength(12)
  })
})

describe('deadLetterHeaders', () => {
  const reason = { code: 'INTERNAL', error: 'é'.repeat(5_000), ingestSubject: 'allsource.ingest.acme.s-1', ingestSequence: 7, attempts: 5 }
  const original = () => {
    const h = headers()
    h.set('Content-Type', 'application/json')
    h.set('X-Trace', 'x'.repeat(300))
    h.set('Nats-Msg-Id', 'client-1')
    return h
  }

  it('keeps the original headers and the reason, the error cut to 1 KiB on a code point', () => {
    const h = deadLetterHeaders(original(), reason, 100_000)
    expect(h.get('X-Trace')).toBe('x'.repeat(300))
    expect(h.get('Nats-Msg-Id')).toBe('')
    expect(h.get('AllSource-Attempts')).toBe('5')
    expect(utf8Length(h.get('AllSource-Error'))).toBeLessThanOrEqual(1_024)
    expect(h.get('AllSource-Error').endsWith('é…')).toBe(true)
  })

  it('gives way to the budget: error first, then the other original headers, then the ingest subject', () => {
    for (const budget of [600, 400, 200, 150, 0]) {
      const h = deadLetterHeaders(original(), reason, budget, [['Nats-Msg-Id', 'dlq-7']])
      const size = headerBytes([...entries(h), ['Nats-Msg-Id', 'dlq-7']])
      if (budget >= 150) expect(size).toBeLessThanOrEqual(budget)
      expect(h.get('AllSource-Error-Code')).toBe('INTERNAL')
      expect(h.get('AllSource-Ingest-Sequence')).toBe('7')
    }
    const tight = deadLetterHeaders(original(), reason, 400, [['Nats-Msg-Id', 'dlq-7']])
    expect(tight.get('X-Trace')).toBe('')
    expect(tight.get('Content-Type')).toBe('application/json')
    expect(tight.get('AllSource-Ingest-Subject')).toBe('allsource.ingest.acme.s-1')
  })

  it('truncateUtf8 never exceeds its byte limit', () => {
    for (const max of [0, 2, 3, 4, 5, 10, 100]) expect(utf8Length(truncateUtf8('a😀é'.repeat(50), max))).toBeLessThanOrEqual(max)
    expect(truncateUtf8('short', 10)).toBe('short')
  })
})
