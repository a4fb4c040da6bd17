import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { GroupingPublisher } from '../../../src/adapters/nats/log/groupingPublisher.js'
import type { Publisher, PublishResult } from '../../../src/adapters/nats/log/pipelinedPublisher.js'
import { WireHeaders } from '../../../src/adapters/nats/log/wireHeaders.js'

interface Sent {
  readonly subject: string
  readonly headers: MsgHdrs | undefined
  readonly acked: boolean
}

/**
 * A connection that records the batch members published without a reply, and an inner publisher
 * that records the rest and answers each with `answer(subject, headers)`.
 */
const rig = (answer: (subject: string, h: MsgHdrs | undefined) => PublishResult) => {
  const sent: Sent[] = []
  const nc = {
    info: { max_payload: 1024 * 1024 },
    publish: (subject: string, _d: Uint8Array, o?: { headers?: MsgHdrs }) => void sent.push({ subject, headers: o?.headers, acked: false }),
  } as unknown as NatsConnection
  const inner: Publisher = {
    publish: (subject, _d, h) => {
      sent.push({ subject, headers: h, acked: true })
      return Promise.resolve(answer(subject, h))
    },
    close: () => undefined,
  }
  return { sent, pub: new GroupingPublisher(nc, inner, { minBatch: 3, maxBatch: 4 }) }
}

const data = new Uint8Array([1])
const h = (id: string) => WireHeaders.of(['Nats-Msg-Id', id], ['Nats-Expected-Last-Subject-Sequence', '0'])
const isBatch = (s: Sent) => (s.headers?.get('Nats-Batch-Id') ?? '') !== ''
const stored = (seq: number, batchCount?: number): PublishResult => ({ _tag: 'Stored', seq, duplicate: false, ...(batchCount !== undefined ? { batchCount } : {}) })

describe('GroupingPublisher', () => {
  it('publishes fewer than minBatch one by one, unchanged', async () => {
    const { sent, pub } = rig(() => stored(7))
    const rs = await Promise.all([pub.publish('a', data, h('1')), pub.publish('b', data, h('2'))])
    expect(rs).toEqual([stored(7), stored(7)])
    expect(sent.every((s) => s.acked && !isBatch(s))).toBe(true)
  })

  it('sends a batch with sequence and commit headers, keeps each member own headers, and answers each member its own sequence', async () => {
    const { sent, pub } = rig((_s, hd) => (hd?.get('Nats-Batch-Commit') === '1' ? stored(12, 3) : stored(0)))
    const original = h('1')
    const rs = await Promise.all([pub.publish('a', data, original), pub.publish('b', data, h('2')), pub.publish('c', data, h('3'))])
    expect(rs).toEqual([stored(10), stored(11), stored(12)])
    expect(sent.map((s) => [s.subject, s.acked, s.headers?.get('Nats-Batch-Sequence'), s.headers?.get('Nats-Msg-Id'), s.headers?.get('Nats-Expected-Last-Subject-Sequence')])).toEqual([
      ['a', false, '1', '1', '0'],
      ['b', false, '2', '2', '0'],
      ['c', true, '3', '3', '0'],
    ])
    expect(new Set(sent.map((s) => s.headers?.get('Nats-Batch-Id'))).size).toBe(1)
    expect(original.get('Nats-Batch-Id')).toBe('') // the caller's headers are not touched (a fallback re-sends them)
  })

  it('splits at maxBatch and before a subject repeats: never two members of one subject in a batch', async () => {
    const { sent, pub } = rig((_s, hd) => (hd?.get('Nats-Batch-Commit') === '1' ? stored(100, Number(hd.get('Nats-Batch-Sequence'))) : stored(1)))
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'a', 'h', 'i'].map((s, k) => pub.publish(s, data, h(String(k)))))
    const batches = new Map<string, string[]>()
    for (const s of sent) if (isBatch(s)) batches.set(s.headers?.get('Nats-Batch-Id') ?? '', [...(batches.get(s.headers?.get('Nats-Batch-Id') ?? '') ?? []), s.subject])
    for (const subjects of batches.values()) {
      expect(subjects.length).toBeLessThanOrEqual(4)
      expect(new Set(subjects).size).toBe(subjects.length)
    }
    expect(sent.filter((s) => s.subject === 'a')).toHaveLength(2)
  })

  it('after a refusal that stores nothing, publishes each member alone and answers each its own result', async () => {
    const { sent, pub } = rig((s, hd) =>
      hd?.get('Nats-Batch-Commit') === '1' ? { _tag: 'Rejected', errCode: 10071, description: 'wrong last sequence: 5' } : s === 'b' ? { _tag: 'Rejected', errCode: 10071, description: 'wrong last sequence: 5' } : stored(s === 'a' ? 20 : 21),
    )
    const rs = await Promise.all([pub.publish('a', data, h('1')), pub.publish('b', data, h('2')), pub.publish('c', data, h('3'))])
    expect(rs).toEqual([stored(20), { _tag: 'Rejected', errCode: 10071, description: 'wrong last sequence: 5' }, stored(21)])
    const singles = sent.filter((s) => !isBatch(s))
    expect(singles.map((s) => s.subject)).toEqual(['a', 'b', 'c'])
  })

  it('answers every member "may be stored" after a lost batch ack or an unknown refusal, and never re-sends them itself', async () => {
    for (const answer of [{ _tag: 'TimedOut' }, { _tag: 'Rejected', errCode: 10999, description: 'store failed' }] as PublishResult[]) {
      const { sent, pub } = rig((_s, hd) => (hd?.get('Nats-Batch-Commit') === '1' ? answer : stored(1)))
      const rs = await Promise.all([pub.publish('a', data, h('1')), pub.publish('b', data, h('2')), pub.publish('c', data, h('3'))])
      expect(rs).toEqual([{ _tag: 'TimedOut' }, { _tag: 'TimedOut' }, { _tag: 'TimedOut' }])
      expect(sent).toHaveLength(3)
    }
  })

  it('treats an ack without a batch count (a server that stored the members singly) as "may be stored" for all but the last', async () => {
    const { pub } = rig(() => stored(9))
    const rs = await Promise.all([pub.publish('a', data, h('1')), pub.publish('b', data, h('2')), pub.publish('c', data, h('3'))])
    expect(rs).toEqual([{ _tag: 'TimedOut' }, { _tag: 'TimedOut' }, stored(9)])
  })
})
