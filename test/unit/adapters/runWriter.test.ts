import type { NatsConnection } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { createRunWriter } from '../../../src/adapters/nats/log/runWriter.js'
import type { Publisher, PublishResult } from '../../../src/adapters/nats/log/pipelinedPublisher.js'
import { WireHeaders } from '../../../src/adapters/nats/log/wireHeaders.js'
import type { StoredCommit } from '../../../src/application/streams/ports.js'
import type { Commit } from '../../../src/domain/streams/event.js'
import { commitOf } from '../../support/eventLogContract.js'

/** A run writer over scripted acks (one per attempt) and a scripted store for lookups. */
const writerWith = (acks: PublishResult[], store: Map<string, StoredCommit> = new Map(), opts: { maxPayload?: number; refuse?: boolean } = {}) => {
  const sent: { subject: string; headers: WireHeaders }[] = []
  const nc = {
    publish: (subject: string, _d: Uint8Array, o: { headers: WireHeaders }) => {
      if (opts.refuse === true) throw new Error('connection draining')
      sent.push({ subject, headers: o.headers })
    },
  } as unknown as NatsConnection
  let attempts = 0
  const publisher: Publisher = {
    publish: (subject, _d, h) => {
      sent.push({ subject, headers: h as WireHeaders })
      return Promise.resolve(acks[Math.min(attempts++, acks.length - 1)] as PublishResult)
    },
    close: () => undefined,
  }
  const write = createRunWriter({
    nc,
    publisher,
    subject: (c) => `allsource.events.${c.tenant}.${c.stream}`,
    encode: () => new Uint8Array(10),
    headers: (c, expected) => (expected === undefined ? WireHeaders.of(['Nats-Msg-Id', c.commitId]) : WireHeaders.of(['Nats-Msg-Id', c.commitId], ['Nats-Expected-Last-Subject-Sequence', String(expected)])),
    maxPayload: () => opts.maxPayload ?? 1_000_000,
    lookup: (c) => Promise.resolve(store.get(c.commitId)),
    sameCommit: (a, b) => a.commitId === b.commitId && a.events[0]?.id === b.events[0]?.id,
    deadlineMs: 50,
  })
  return { write, sent, attempts: () => attempts }
}

const run = (n: number): Commit[] => Array.from({ length: n }, (_, k) => commitOf('t', 's', k))
const none = (n: number) => Array.from({ length: n }, () => undefined)

describe('runWriter: a run of one stream as one atomic batch', () => {
  it('stored: each commit at its offset, the batch ending at the ack; only the first carries the expected sequence', async () => {
    const w = writerWith([{ _tag: 'Stored', seq: 12, duplicate: false, batchCount: 3 }])
    const commits = run(3)
    expect(await w.write(commits, 9, none(3))).toEqual({ _tag: 'Appended', offsets: [10, 11, 12] })
    expect(w.sent.map((m) => m.headers.get('Nats-Expected-Last-Subject-Sequence'))).toEqual(['9', '', ''])
    expect(w.sent.map((m) => m.headers.get('Nats-Batch-Sequence'))).toEqual(['1', '2', '3'])
    expect(w.sent.map((m) => m.headers.get('Nats-Batch-Commit'))).toEqual(['', '', '1'])
    expect(new Set(w.sent.map((m) => m.headers.get('Nats-Batch-Id'))).size).toBe(1)
  })

  it('refused before storing (wrong last sequence, a stored id, no responders, a refused connection, too large): NotStored, once', async () => {
    for (const ack of [
      { _tag: 'Rejected', errCode: 10071, description: 'wrong last sequence: 4' },
      { _tag: 'Rejected', errCode: 10201, description: 'duplicate message id' },
      { _tag: 'NoResponders' },
    ] as PublishResult[]) {
      const w = writerWith([ack])
      expect(await w.write(run(2), 3, none(2))).toMatchObject({ _tag: 'NotStored' })
      expect(w.attempts()).toBe(1)
    }
    expect(await writerWith([], new Map(), { refuse: true }).write(run(2), 0, none(2))).toMatchObject({ _tag: 'NotStored', reason: 'the connection refused the run' })
    expect(await writerWith([], new Map(), { maxPayload: 50 }).write(run(2), 0, none(2))).toMatchObject({ _tag: 'NotStored', reason: 'a commit is too large for a run' })
  })

  it('after a lost ack, settles by reading: all ours stored is Appended at their offsets, none stored is NotStored, part of it is Unavailable', async () => {
    const commits = run(3)
    const lost: PublishResult[] = [{ _tag: 'TimedOut' }, { _tag: 'Rejected', errCode: 10201, description: 'duplicate' }]
    const all = new Map(commits.map((c, k) => [c.commitId as string, { offset: 40 + k, commit: c }]))
    expect(await writerWith(lost, all).write(commits, 0, none(3))).toEqual({ _tag: 'Appended', offsets: [40, 41, 42] })
    expect(await writerWith(lost).write(commits, 0, none(3))).toMatchObject({ _tag: 'NotStored' })
    const part = new Map([[commits[0]?.commitId as string, { offset: 40, commit: commits[0] as Commit }]])
    expect(await writerWith(lost, part).write(commits, 0, none(3))).toMatchObject({ _tag: 'Unavailable' })
    // Another commit under our commitIds (an older one): not ours, so not appended.
    const older = new Map(commits.map((c, k) => [c.commitId as string, { offset: 40 + k, commit: { ...c, events: [{ ...(c.events[0] as Commit['events'][number]), id: 'other' as never }] } }]))
    expect(await writerWith(lost, older).write(commits, 0, none(3))).toMatchObject({ _tag: 'Unavailable' })
  })

  it('no ack until the deadline: Unavailable (may be stored), having sent the same ids again', async () => {
    const w = writerWith([{ _tag: 'TimedOut' }])
    const commits = run(2)
    expect(await w.write(commits, 0, none(2))).toMatchObject({ _tag: 'Unavailable' })
    expect(w.attempts()).toBeGreaterThan(1)
    expect(new Set(w.sent.map((m) => m.headers.get('Nats-Msg-Id')))).toEqual(new Set(commits.map((c) => c.commitId)))
  })
})
