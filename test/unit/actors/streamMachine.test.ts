import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { initialTransition, transition } from 'xstate'
import { dispatch, mailboxState, type StreamIdentity } from '../../../actors/streams/dispatch.js'
import { streamMachine, type StreamActorEvent } from '../../../actors/streams/streamMachine.js'
import type { Reply, Work } from '../../../actors/streams/work.js'
import { validateAppendRequest } from '../../../src/domain/streams/appendRequest.js'
import type { CommitId, EventId, StreamId, TenantId } from '../../../src/domain/streams/ids.js'
import type { LoadedStream } from '../../../src/application/streams/prepareCommit.js'

let n = 0
const deps = { clock: { now: () => new Date(0) }, ids: { eventId: () => `e-${++n}` as EventId, commitId: () => `c-${++n}` as CommitId } }
const id: StreamIdentity = { tenant: 'acme' as TenantId, stream: 's-1' as StreamId, module: undefined, deps }
const input = { ...id, maxMailbox: 2, maxConflictRetries: 3, snapshotEvery: 0 }
const noReply: Reply = () => undefined

const work = (body: Record<string, unknown>, commitId = `w-${++n}`, clientCommitId = false): Work => {
  const c = validateAppendRequest('acme', 's-1', { events: [{ type: 'a', payload: 1 }], ...body })
  if (E.isLeft(c)) throw new Error('bad command')
  return { kind: 'append', command: c.right, commitId: commitId as CommitId, clientCommitId, reply: noReply }
}
const at = (version: number, lastOffset: number): LoadedStream => ({ head: { version, lastOffset }, state: undefined })

/** The event xstate sends when an invoked promise (`load`, `reload`, `probe`) resolves. */
const done = (invokeId: string, output: unknown) => ({ type: `xstate.done.actor.${invokeId}`, output, actorId: invokeId }) as unknown as StreamActorEvent

/** A machine that has loaded a stream at `version`/`lastOffset`. */
const readyAt = (version: number, lastOffset: number) => {
  const [s0] = initialTransition(streamMachine, input)
  return transition(streamMachine, s0, done('load', at(version, lastOffset)))[0]
}

describe('dispatch (pure mailbox logic)', () => {
  it('answers rejections in order without I/O and stops at the first commit to write', () => {
    const stale = work({ expectedVersion: 0 })
    const alsoStale = work({ expectedVersion: 'no_stream' })
    const fine = work({ expectedVersion: 3 })
    const later = work({})
    const d = dispatch(id, mailboxState(at(3, 10), [stale, alsoStale, fine, later], undefined, undefined, undefined, 0), false)
    expect(d.answers.map((a) => a.work)).toEqual([stale, alsoStale])
    expect(d.answers.map((a) => E.isLeft(a.result) && a.result.left._tag)).toEqual(['WrongExpectedVersion', 'WrongExpectedVersion'])
    expect(d.effect).toMatchObject({ _tag: 'Write', expectedLastOffset: 10, commit: { commitId: fine.commitId, events: [{ version: 4 }] } })
    expect(d.next.current).toBe(fine)
    expect(d.next.mailbox).toEqual([later])
  })

  it('probes for a duplicate when a client commitId meets a stale expectedVersion', () => {
    const retry = work({ expectedVersion: 0 }, 'client-1', true)
    const d = dispatch(id, mailboxState(at(5, 9), [retry], undefined, undefined, undefined, 0), false)
    expect(d.effect).toEqual({ _tag: 'Probe' })
    expect(d.answers).toEqual([])
    expect(d.next.rejection).toMatchObject({ _tag: 'WrongExpectedVersion', actual: 5 })
  })

  it('reloads before refusing an expectedVersion above its copy (another processor may have appended), once', () => {
    for (const body of [{ expectedVersion: 6 }, { expectedVersion: 'exists' }]) {
      const ahead = work(body, `client-${++n}`, true)
      const from = body.expectedVersion === 'exists' ? at(0, 0) : at(5, 9)
      const d = dispatch(id, mailboxState(from, [ahead], undefined, undefined, undefined, 0), false)
      expect(d.effect).toEqual({ _tag: 'Reload' })
      expect(d.answers).toEqual([])
      expect(d.next.current).toBe(ahead)
      // Reloaded and still refused: now the refusal holds against the log (probed, as any client commitId).
      const again = dispatch(id, { ...d.next }, true)
      expect(again.effect).toEqual({ _tag: 'Probe' })
    }
  })

  it('on retry after a conflict decides `current` again against the reloaded state', () => {
    const any = work({})
    const d = dispatch(id, mailboxState(at(7, 20), [], any, undefined, undefined, 2), true)
    expect(d.effect).toMatchObject({ _tag: 'Write', expectedLastOffset: 20, commit: { events: [{ version: 8 }] } })
    expect(d.next.conflicts).toBe(2)
  })

  it('does nothing before the stream is loaded', () => {
    const d = dispatch(id, mailboxState(undefined, [work({})], undefined, undefined, undefined, 0), false)
    expect(d.effect).toBeUndefined()
    expect(d.next.mailbox).toHaveLength(1)
  })
})

describe('stream machine (pure transitions)', () => {
  it('serves work queued during the load once the load is done', () => {
    const [s0] = initialTransition(streamMachine, input)
    const [s1] = transition(streamMachine, s0, { type: 'WORK', work: work({}) })
    const [s2, actions] = transition(streamMachine, s1, done('load', at(4, 8)))
    expect(s2.value).toBe('ready')
    expect(actions.map((a) => a.type)).toContain('xstate.raise')
    const [s3, a3] = transition(streamMachine, s2, { type: 'SERVE' })
    expect(s3.context.prepared?.commit.events[0]?.version).toBe(5)
    expect(a3.map((a) => a.type)).toContain('write')
  })

  it('loads first, queueing work that arrives meanwhile', () => {
    const [s0] = initialTransition(streamMachine, input)
    expect(s0.value).toBe('loading')
    const [s1] = transition(streamMachine, s0, { type: 'WORK', work: work({}) })
    expect(s1.value).toBe('loading')
    expect(s1.context.mailbox).toHaveLength(1)
  })

  it('takes work at once when ready and idle, and emits one write', () => {
    const ready = readyAt(0, 0)
    const [s1, actions] = transition(streamMachine, ready, { type: 'WORK', work: work({}) })
    expect(s1.context.current).toBeDefined()
    expect(actions.map((a) => a.type)).toContain('write')
    // More work while a commit is in flight queues up to the mailbox limit, then is refused.
    const [s2] = transition(streamMachine, s1, { type: 'WORK', work: work({}) })
    const [s3] = transition(streamMachine, s2, { type: 'WORK', work: work({}) })
    expect(s3.context.mailbox).toHaveLength(2)
    const refused: unknown[] = []
    const [s4, a4] = transition(streamMachine, s3, { type: 'WORK', work: { ...work({}), reply: (r) => refused.push(r) } })
    expect(s4.context.mailbox).toHaveLength(2)
    for (const a of a4) (a as { exec?: (...x: unknown[]) => void }).exec?.(a.info, a.params)
    expect(refused).toMatchObject([{ _tag: 'Left', left: { _tag: 'Unavailable' } }])
  })

  it('settles an appended commit: the head moves, and the next queued work is written in the same step', () => {
    const ready = readyAt(0, 0)
    const [s1] = transition(streamMachine, ready, { type: 'WORK', work: work({}) })
    const [s2] = transition(streamMachine, s1, { type: 'WORK', work: work({ expectedVersion: 1 }) })
    const [s3, actions] = transition(streamMachine, s2, { type: 'WRITTEN', outcome: { _tag: 'Appended', offset: 42 } })
    expect(s3.value).toBe('ready')
    expect(s3.context.loaded?.head).toEqual({ version: 1, lastOffset: 42 })
    expect(s3.context.prepared?.commit.events[0]?.version).toBe(2)
    expect(actions.filter((a) => a.type === 'write')).toHaveLength(1)
  })

  it('reloads after a conflict and keeps the work; gives up after maxConflictRetries', () => {
    const ready = readyAt(0, 0)
    let [s] = transition(streamMachine, ready, { type: 'WORK', work: work({}) })
    for (let i = 1; i <= 3; i++) {
      ;[s] = transition(streamMachine, s, { type: 'WRITTEN', outcome: { _tag: 'Conflict' } })
      expect(s.value).toBe('reloading')
      expect(s.context.conflicts).toBe(i)
      ;[s] = transition(streamMachine, s, done('reload', at(i, i * 10)))
      expect(s.value).toBe('ready')
      ;[s] = transition(streamMachine, s, { type: 'SERVE' })
      expect(s.context.prepared?.commit.events[0]?.version).toBe(i + 1)
    }
    ;[s] = transition(streamMachine, s, { type: 'WRITTEN', outcome: { _tag: 'Conflict' } })
    expect(s.value).toBe('reloading')
    expect(s.context.current).toBeUndefined()
  })

  it('a WRONG_EXPECTED_VERSION from a stale copy: reloads, then writes against the log it found', () => {
    let answer: unknown
    const w = { ...work({ expectedVersion: 3 }, 'client-ahead', true), reply: (r: unknown) => (answer = r) }
    let [s] = transition(streamMachine, readyAt(2, 5), { type: 'WORK', work: w })
    ;[s] = transition(streamMachine, s, { type: 'RELOAD' })
    expect(s.value).toBe('reloading')
    ;[s] = transition(streamMachine, s, done('reload', at(3, 8)))
    ;[s] = transition(streamMachine, s, { type: 'SERVE' })
    expect(s.context.prepared?.commit.events[0]?.version).toBe(4)
    expect(s.context.rejection).toBeUndefined()
    expect(answer).toBeUndefined()
  })

  it('passivates only when idle', () => {
    const ready = readyAt(0, 0)
    const [busy] = transition(streamMachine, ready, { type: 'WORK', work: work({}) })
    expect(transition(streamMachine, busy, { type: 'PASSIVATE' })[0].value).toBe('ready')
    expect(transition(streamMachine, ready, { type: 'PASSIVATE' })[0].value).toBe('passivated')
  })
})
