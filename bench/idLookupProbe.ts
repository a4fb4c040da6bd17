// Ad-hoc probe (not part of npm run bench): where the time of a lookup by a UUIDv7 id goes, step
// by step, on the log scenario 20 builds. EVENTS (default 1,000,000), LOOKUPS (default 200),
// PARTS (default ABCD: A the old first pass by a consumer, step by step; B batch direct gets of the
// same commits; C fixed costs; D the lookup as it is now, both ways).
import { DeliverPolicy, jetstreamManager } from '@nats-io/jetstream'
import { decodeCommit } from '../src/adapters/codec/commitCodec.js'
import { directBatch } from '../src/adapters/nats/reading/directBatch.js'
import { commitHolding, createTimeWindowLookup, mayHoldId, storeMillis } from '../src/adapters/nats/reading/idLookup.js'
import { createLogConsumers } from '../src/adapters/nats/reading/logConsumer.js'
import { defaultIdWindow, uuidv7Millis } from '../src/domain/reading/idWindow.js'
import { freshServer } from './scenarios/common.js'
import { fillLog, sample } from './scenarios/idLookup.js'

const events = Number(process.env.EVENTS ?? 1_000_000)
const lookups = Number(process.env.LOOKUPS ?? 200)
const FILTER = 'allsource.events.bench.>'
const parts = process.env.PARTS ?? 'ABCD'

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))] ?? Number.NaN
const table = (name: string, cols: Record<string, number[]>) => {
  console.log(`\n${name}`)
  for (const [k, v] of Object.entries(cols)) console.log(`  ${k.padEnd(34)} p50 ${p50(v).toFixed(2).padStart(8)}  p99 ${p99(v).toFixed(2).padStart(8)}`)
}

const b = await freshServer()
try {
  const f = await fillLog(b, events, () => undefined)
  console.log(`filled ${events} events in ${f.fillSeconds.toFixed(1)} s`)
  const ids = sample(f.v7, lookups)
  const jsm = await jetstreamManager(b.nc)
  const consumers = createLogConsumers(b.nc)

  // Where the commit is, relative to the id's millisecond: store time, and commits stored between.
  const lagMs: number[] = []
  const before: number[] = []
  const between: number[] = []
  for (const { id, offset } of ids) {
    const ms = uuidv7Millis(id) ?? 0
    const m = await jsm.direct.getMessage('ALLSOURCE_EVENTS', { seq: offset })
    if (m === null) throw new Error('missing')
    lagMs.push(m.time.getTime() - ms)
    const atMs = await jsm.direct.getMessage('ALLSOURCE_EVENTS', { start_time: new Date(ms) })
    const at20 = await jsm.direct.getMessage('ALLSOURCE_EVENTS', { start_time: new Date(ms - 20) })
    before.push((atMs?.seq ?? 0) - (at20?.seq ?? 0))
    between.push(offset - (atMs?.seq ?? 0))
  }
  table('position of the commit', { 'store time − id ms (ms)': lagMs, 'commits in [ms−20, ms)': before, 'commits from ms to the hit': between })

  // A: the old pass 1 (from 20 ms before the id), an ordered consumer, step by step.
  if (parts.includes('A')) {
  const a = { open: [] as number[], info: [] as number[], consume: [] as number[], first: [] as number[], toHit: [] as number[], total: [] as number[], deleted: [] as number[], scanned: [] as number[], decoded: [] as number[], kb: [] as number[] }
  for (const { id, offset } of ids) {
    const ms = uuidv7Millis(id) ?? 0
    const idBytes = Buffer.from(id, 'latin1')
    const t0 = performance.now()
    const lease = await consumers.open('ALLSOURCE_EVENTS', { filter_subjects: [FILTER], deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(ms - 20).toISOString() })
    const t1 = performance.now()
    await lease.consumer.info(true)
    const t2 = performance.now()
    const it = await lease.consume({ maxBytes: 256 * 1024 })
    const t3 = performance.now()
    let t4 = 0
    let n = 0
    let dec = 0
    let bytes = 0
    for await (const m of it) {
      if (n++ === 0) t4 = performance.now()
      bytes += m.data.length
      if (storeMillis(m.info.timestampNanos) > ms + 500) throw new Error('passed the window')
      if (mayHoldId(m.data, idBytes)) dec++
      if (commitHolding(m.data, m.seq, id, idBytes) !== undefined) {
        if (m.seq !== offset) throw new Error('wrong commit')
        break
      }
    }
    const t5 = performance.now()
    lease.close()
    await lease.closed
    const t6 = performance.now()
    a.open.push(t1 - t0)
    a.info.push(t2 - t1)
    a.consume.push(t3 - t2)
    a.first.push(t4 - t3)
    a.toHit.push(t5 - t4)
    a.total.push(t5 - t0)
    a.deleted.push(t6 - t5)
    a.scanned.push(n)
    a.decoded.push(dec)
    a.kb.push(bytes / 1024)
  }
  table('A: ordered consumer (today)', { 'open (create consumer)': a.open, 'info(true)': a.info, 'consume()': a.consume, 'first message': a.first, 'first message → hit': a.toHit, 'total to the answer': a.total, 'delete (after the answer)': a.deleted, 'commits read': a.scanned, 'commits decoded': a.decoded, 'KiB read': a.kb })

  }
  // B: batch direct gets in order, the tenant filter on the server, batches growing from `first`.
  for (const filter of parts.includes('B') ? [FILTER, undefined] : []) {
    for (const first of [64, 256]) {
      const r = { first: [] as number[], total: [] as number[], requests: [] as number[], scanned: [] as number[] }
      for (const { id, offset } of ids) {
        const ms = uuidv7Millis(id) ?? 0
        const idBytes = Buffer.from(id, 'latin1')
        const t0 = performance.now()
        let t1 = 0
        let n = 0
        let reqs = 0
        let found = false
        let batch = first
        let from: { start_time: string } | { seq: number } = { start_time: new Date(ms - 20).toISOString() }
        for (;;) {
          reqs++
          const end = await directBatch(b.nc, 'ALLSOURCE_EVENTS', { ...from, batch, ...(filter === undefined ? {} : { next_by_subj: filter }) }, (m) => {
            if (n++ === 0) t1 = performance.now()
            if (m.storeMs > ms + 500) throw new Error('passed the window')
            if (!m.subject.startsWith('allsource.events.bench.')) return false
            if (mayHoldId(m.data, idBytes) && decodeCommit(m.data, m.seq).events.some((e) => e.id === id)) {
              if (m.seq !== offset) throw new Error('wrong commit')
              found = true
              return true
            }
            return false
          })
          if (found || end._tag !== 'EndOfBatch' || end.pending === 0) break
          from = { seq: end.lastSeq + 1 }
          batch = Math.min(batch * 2, 1024)
        }
        if (!found) throw new Error('not found')
        r.first.push(t1 - t0)
        r.total.push(performance.now() - t0)
        r.requests.push(reqs)
        r.scanned.push(n)
      }
      table(`B: batch direct get, ${filter === undefined ? 'no filter' : 'tenant filter'}, first batch ${first}`, { 'first message': r.first, 'total to the answer': r.total, requests: r.requests, 'commits read': r.scanned })
    }
  }
  // D: the lookup as it is now (rings from the id's millisecond), read both ways.
  const unknown = sample(f.v7, 20).map(({ id }) => `${id.slice(0, 19)}bfff-ffffffffffff`)
  for (const [mode, farFilter] of parts.includes('D') ? ([['direct', true], ['direct', false], ['consumer', true]] as const) : []) {
    const lookup = createTimeWindowLookup(b.nc, consumers, (t) => `allsource.events.${t}.>`, (t) => `allsource.events.${t}.`, defaultIdWindow, mode, farFilter)
    const total: number[] = []
    for (const { id, offset } of ids) {
      const t0 = performance.now()
      const r = await lookup('bench', id)
      total.push(performance.now() - t0)
      if (r?.offset !== offset) throw new Error(`${mode}: ${id} at ${r?.offset}, expected ${offset}`)
    }
    const none: number[] = []
    for (const id of unknown) {
      const t0 = performance.now()
      if ((await lookup('bench', id)) !== undefined) throw new Error('found an unknown id')
      none.push(performance.now() - t0)
    }
    table(`D: createTimeWindowLookup, ${mode}${mode === 'direct' ? `, far passes ${farFilter ? 'filtered' : 'unfiltered'}` : ''}`, { 'found, total to the answer': total, 'unknown id (whole window)': none })
  }

  // C: the fixed cost: one message from a start time (GetSeqFromTime + one load), with and without the filter.
  const c = { plain: [] as number[], unfiltered: [] as number[], batch1: [] as number[] }
  for (const { id } of parts.includes('C') ? ids : []) {
    const ms = uuidv7Millis(id) ?? 0
    let t0 = performance.now()
    await jsm.direct.getMessage('ALLSOURCE_EVENTS', { start_time: new Date(ms - 20) })
    c.plain.push(performance.now() - t0)
    t0 = performance.now()
    await directBatch(b.nc, 'ALLSOURCE_EVENTS', { start_time: new Date(ms - 20).toISOString(), batch: 1, next_by_subj: FILTER }, () => false)
    c.batch1.push(performance.now() - t0)
    t0 = performance.now()
    await directBatch(b.nc, 'ALLSOURCE_EVENTS', { start_time: new Date(ms - 20).toISOString(), batch: 1 }, () => false)
    c.unfiltered.push(performance.now() - t0)
  }
  if (parts.includes('C')) table('C: fixed cost', { 'direct get at a time (no batch)': c.plain, 'batch of 1, tenant filter': c.batch1, 'batch of 1, no filter': c.unfiltered })
} finally {
  await b.stop()
}
