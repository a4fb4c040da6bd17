import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { createActor, fromPromise } from 'xstate'
import { Mailbox, serve, type StreamIdentity } from '../../../actors/streams/dispatch.js'
import { type StreamActorInput, type StreamEffects, streamMachine, takeWork } from '../../../actors/streams/streamMachine.js'
import type { Work } from '../../../actors/streams/work.js'
import { validateAppendRequest } from '../../../src/domain/streams/appendRequest.js'
import type { Commit } from '../../../src/domain/streams/event.js'
import type { CommitId, EventId, StreamId, TenantId } from '../../../src/domain/streams/ids.js'
import type { LoadedStream } from '../../../src/application/streams/prepareCommit.js'
import type { AppendError } from '../../../src/application/streams/errors.js'
import type { AppendResult } from '../../../src/application/streams/appendResult.js'
import type { StoredCommit } from '../../../src/application/streams/ports.js'

let n = 0
const deps = { clock: { now: () => new Date(0) }, ids: { eventId: () => `e-${++n}` as EventId, commitId: () => `c-${++n}` as CommitId } }
const id: StreamIdentity = { tenant: 'acme' as TenantId, stream: 's-1' as StreamId, module: undefined, deps }

type Result = E.Either<AppendError, AppendResult>
/** A piece of work that records its answers (it must be answered exactly once). */
const work = (body: Record<string, unknown>, commitId = `w-${++n}`, clientCommitId = false): Work & { answers: Result[] } => {
  const c = validateAppendRequest('acme', 's-1', { events: [{ type: 'a', payload: 1 }], ...body })
  if (E.isLeft(c)) throw new Error('bad command')
  const answers: Result[] = []
  return { kind: 'append', command: c.right, commitId: commitId as CommitId, clientCommitId, reply: (r) => void answers.push(r), answers }
}
const at = (version: number, lastOffset: number): LoadedStream => ({ head: { version, lastOffset }, state: undefined })
const boxOf = (loaded: LoadedStream | undefined, queue: Work[], current?: Work, conflicts = 0): Mailbox => {
  const b = new Mailbox()
  b.loaded = loaded
  b.queue.push(...queue)
  b.current = current
  b.conflicts = conflicts
  return b
}

describe('serve (the mailbox step)', () => {
  it('answers rejections in order without I/O and stops at the first commit to write', () => {
    const stale = work({ expectedVersion: 0 })
    const alsoStale = work({ expectedVersion: 'no_stream' })
    const fine = work({ expectedVersion: 3 })
    const later = work({})
    const box = boxOf(at(3, 10), [stale, alsoStale, fine, later])
    expect(serve(id, box, false)).toBe('write')
    expect([...stale.answers, ...alsoStale.answers].map((a) => E.isLeft(a) && a.left._tag)).toEqual(['WrongExpectedVersion', 'WrongExpectedVersion'])
    expect(box.current).toBe(fine)
    expect(box.prepared?.commit).toMatchObject({ commitId: fine.commitId, events: [{ version: 4 }] })
    expect(box.queue).toEqual([later])
    expect(fine.answers).toEqual([])
  })

  it('probes for a duplicate when a client commitId meets a stale expectedVersion', () => {
    const retry = work({ expectedVersion: 0 }, 'client-1', true)
    const box = boxOf(at(5, 9), [retry])
    expect(serve(id, box, false)).toBe('probe')
    expect(retry.answers).toEqual([])
    expect(box.rejection).toMatchObject({ _tag: 'WrongExpectedVersion', actual: 5 })
  })

  it('reloads before refusing an expectedVersion above its copy (another processor may have appended), once', () => {
    for (const body of [{ expectedVersion: 6 }, { expectedVersion: 'exists' }]) {
      const ahead = work(body, `client-${++n}`, true)
      const box = boxOf(body.expectedVersion === 'exists' ? at(0, 0) : at(5, 9), [ahead])
      expect(serve(id, box, false)).toBe('reload')
      expect(ahead.answers).toEqual([])
      expect(box.current).toBe(ahead)
      // Reloaded and still refused: now the refusal holds against the log (probed, as any client commitId).
      expect(serve(id, box, true)).toBe('probe')
    }
  })

  it('on retry after a conflict decides `current` again against the reloaded state, keeping the conflict count', () => {
    const any = work({})
    const box = boxOf(at(7, 20), [], any, 2)
    expect(serve(id, box, true)).toBe('write')
    expect(box.prepared?.commit.events[0]?.version).toBe(8)
    expect(box.conflicts).toBe(2)
  })

  it('with runs on, takes the queued commits that follow from each other into one run, stopping at the first that would not be written', () => {
    const runId: StreamIdentity = { ...id, runs: { min: 2, max: 3 } }
    const [a, b, c, d] = [work({ expectedVersion: 3 }), work({ expectedVersion: 4 }), work({}), work({})]
    const box = boxOf(at(3, 10), [a, b, c, d])
    expect(serve(runId, box, false)).toBe('write')
    expect(box.current).toBe(a)
    expect(box.run).toEqual([b, c]) // max 3 in all
    expect(box.runPrepared.map((p) => p.commit.events[0]?.version)).toEqual([5, 6])
    expect(box.queue).toEqual([d])

    // A stale expectation ends the run; it stays queued, to be decided against the stored head.
    const [e, f, g] = [work({}), work({ expectedVersion: 1 }), work({})]
    const box2 = boxOf(at(3, 10), [e, work({}), f, g])
    expect(serve({ ...id, runs: { min: 2, max: 10 } }, box2, false)).toBe('write')
    expect(box2.run).toHaveLength(1)
    expect(box2.queue).toEqual([f, g])
    expect(f.answers).toEqual([])
  })

  it('with runs on, writes one by one when fewer than `min` would make the run, and after a run the log did not store', () => {
    const runId: StreamIdentity = { ...id, runs: { min: 3, max: 10 } }
    const [a, b, c] = [work({}), work({}), work({ expectedVersion: 0 })]
    const box = boxOf(at(3, 10), [a, b, c])
    expect(serve(runId, box, false)).toBe('write')
    expect(box.run).toEqual([]) // a and b only: too short
    expect(box.queue).toEqual([b, c])

    const [x, y, z] = [work({}), work({}), work({})]
    const box2 = boxOf(at(0, 0), [x, y, z])
    expect(serve({ ...id, runs: { min: 2, max: 10 } }, box2, false)).toBe('write')
    expect(box2.run).toEqual([y, z])
    box2.unrun()
    expect(box2.queue).toEqual([y, z])
    expect(box2.singles).toBe(3)
    expect(serve({ ...id, runs: { min: 2, max: 10 } }, box2, true)).toBe('write')
    expect(box2.current).toBe(x)
    expect(box2.run).toEqual([])
    expect(box2.singles).toBe(2)
  })

  it('does nothing before the stream is loaded', () => {
    const box = boxOf(undefined, [work({})])
    expect(serve(id, box, false)).toBe('none')
    expect(box.queue).toHaveLength(1)
  })
})

/** A live stream actor with a log the test drives by hand: `load`/`findDuplicate` resolve when told, writes are recorded. */
const harness = (maxMailbox = 2, runs?: StreamIdentity['runs'], stored: () => StoredCommit | undefined = () => undefined) => {
  const loads: ((l: LoadedStream) => void)[] = []
  const writes: { commit: Commit; expectedLastOffset: number }[] = []
  const runWrites: { commits: readonly Commit[]; expectedLastOffset: number }[] = []
  const effects: StreamEffects = {
    write: (commit, expectedLastOffset) => void writes.push({ commit, expectedLastOffset }),
    writeRun: (commits, expectedLastOffset) => void runWrites.push({ commits, expectedLastOffset }),
    snapshot: () => undefined,
  }
  const machine = streamMachine.provide({
    actors: {
      load: fromPromise(() => new Promise<LoadedStream>((resolve) => loads.push(resolve))),
      findDuplicate: fromPromise<StoredCommit | undefined, { commit: Commit }>(async () => stored()),
    },
  })
  const input: StreamActorInput = { ...id, ...(runs !== undefined ? { runs } : {}), maxMailbox, maxConflictRetries: 3, snapshotEvery: 0, effects }
  const actor = createActor(machine, { input }).start()
  const box = actor.getSnapshot().context.box
  const flush = () => new Promise((r) => setTimeout(r, 0))
  const load = async (l: LoadedStream) => {
    loads.shift()?.(l)
    await flush()
  }
  return { actor, box, writes, runWrites, load, input, flush }
}

describe('stream actor', () => {
  it('loads first, queueing work that arrives meanwhile, and serves it once loaded', async () => {
    const h = harness()
    expect(h.actor.getSnapshot().value).toBe('loading')
    h.actor.send({ type: 'WORK', work: work({}) })
    expect(h.box.queue).toHaveLength(1)
    expect(h.writes).toHaveLength(0)
    await h.load(at(4, 8))
    expect(h.actor.getSnapshot().value).toBe('ready')
    expect(h.writes).toMatchObject([{ expectedLastOffset: 8, commit: { events: [{ version: 5 }] } }])
  })

  it('takes work at once when ready and idle (one write); queues behind work in flight up to the mailbox limit, then refuses', async () => {
    const h = harness()
    await h.load(at(0, 0))
    h.actor.send({ type: 'WORK', work: work({}) })
    expect(h.box.current).toBeDefined()
    expect(h.writes).toHaveLength(1)
    h.actor.send({ type: 'WORK', work: work({}) })
    h.actor.send({ type: 'WORK', work: work({}) })
    expect(h.box.queue).toHaveLength(2)
    const refused = work({})
    h.actor.send({ type: 'WORK', work: refused })
    expect(h.box.queue).toHaveLength(2)
    expect(refused.answers).toMatchObject([{ _tag: 'Left', left: { _tag: 'Unavailable' } }])
    expect(h.writes).toHaveLength(1)
  })

  it('the supervisor fast path (takeWork) does what WORK does, with no event', async () => {
    const h = harness()
    await h.load(at(2, 5))
    const w = work({ expectedVersion: 2 })
    takeWork(h.input, h.box, w, h.actor)
    expect(h.writes).toMatchObject([{ expectedLastOffset: 5, commit: { events: [{ version: 3 }] } }])
    h.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Appended', offset: 6 } })
    expect(w.answers).toMatchObject([{ _tag: 'Right', right: { fromVersion: 3, toVersion: 3, offset: 6 } }])
    expect(h.box.idle).toBe(true)
  })

  it('settles an appended commit: the head moves, the work is answered, and the next queued work is written in the same step', async () => {
    const h = harness()
    await h.load(at(0, 0))
    const first = work({})
    h.actor.send({ type: 'WORK', work: first })
    h.actor.send({ type: 'WORK', work: work({ expectedVersion: 1 }) })
    h.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Appended', offset: 42 } })
    expect(h.actor.getSnapshot().value).toBe('ready')
    expect(h.box.loaded?.head).toEqual({ version: 1, lastOffset: 42 })
    expect(first.answers).toHaveLength(1)
    expect(h.writes).toMatchObject([{ expectedLastOffset: 0 }, { expectedLastOffset: 42, commit: { events: [{ version: 2 }] } }])
  })

  it('writes queued commits as one run, answers each at its offset in order, and falls back to one by one when the run is not stored', async () => {
    const h = harness(100, { min: 2, max: 50 })
    await h.load(at(0, 0))
    const first = work({})
    h.actor.send({ type: 'WORK', work: first })
    const queued = [work({}), work({ expectedVersion: 2 }), work({})]
    for (const w of queued) h.actor.send({ type: 'WORK', work: w })
    h.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Appended', offset: 7 } })
    expect(h.runWrites).toMatchObject([{ expectedLastOffset: 7, commits: [{ events: [{ version: 2 }] }, { events: [{ version: 3 }] }, { events: [{ version: 4 }] }] }])
    h.actor.send({ type: 'WRITTEN_RUN', outcome: { _tag: 'Appended', offsets: [8, 9, 11] } })
    expect(queued.map((w) => w.answers)).toMatchObject([[{ right: { toVersion: 2, offset: 8 } }], [{ right: { toVersion: 3, offset: 9 } }], [{ right: { toVersion: 4, offset: 11 } }]])
    expect(h.box.loaded?.head).toEqual({ version: 4, lastOffset: 11 })
    expect(h.box.idle).toBe(true)

    // Not stored (another writer got in): reloaded, then the same work one commit at a time, each with its own answer.
    const w1 = work({})
    h.actor.send({ type: 'WORK', work: w1 })
    const more = [work({}), work({ expectedVersion: 6 })]
    for (const w of more) h.actor.send({ type: 'WORK', work: w })
    h.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Appended', offset: 12 } })
    const nextRun = [work({}), work({})]
    expect(h.runWrites).toHaveLength(2)
    for (const w of nextRun) h.actor.send({ type: 'WORK', work: w })
    h.actor.send({ type: 'WRITTEN_RUN', outcome: { _tag: 'NotStored', reason: 'wrong last sequence' } })
    expect(h.actor.getSnapshot().value).toBe('reloading')
    await h.load(at(6, 20)) // someone else wrote version 6
    expect(h.writes.at(-1)).toMatchObject({ expectedLastOffset: 20, commit: { events: [{ version: 7 }] } })
    h.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Appended', offset: 21 } })
    // The numeric expectation (6) is now wrong against the log: refused, not written.
    expect(more[1]?.answers).toMatchObject([{ _tag: 'Left', left: { _tag: 'WrongExpectedVersion' } }])
    expect(more[0]?.answers).toMatchObject([{ right: { toVersion: 7, offset: 21 } }])
    expect(h.runWrites).toHaveLength(2) // the rest of the fallback goes one by one

    // Unavailable: every commit of the run answered UNAVAILABLE with its commitId.
    const h2 = harness(100, { min: 2, max: 50 })
    await h2.load(at(0, 0))
    h2.actor.send({ type: 'WORK', work: work({}) })
    const r = [work({}), work({})]
    for (const w of r) h2.actor.send({ type: 'WORK', work: w })
    h2.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Appended', offset: 1 } })
    h2.actor.send({ type: 'WRITTEN_RUN', outcome: { _tag: 'Unavailable', message: 'no ack' } })
    expect(r.map((w) => w.answers)).toMatchObject(r.map((w) => [{ _tag: 'Left', left: { _tag: 'Unavailable', details: { commitId: w.commitId } } }]))
  })

  it('reloads after a conflict and keeps the work; gives up after maxConflictRetries with UNAVAILABLE', async () => {
    const h = harness()
    await h.load(at(0, 0))
    const w = work({})
    h.actor.send({ type: 'WORK', work: w })
    for (let i = 1; i <= 3; i++) {
      h.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Conflict' } })
      expect(h.actor.getSnapshot().value).toBe('reloading')
      expect(h.box.conflicts).toBe(i)
      await h.load(at(i, i * 10))
      expect(h.actor.getSnapshot().value).toBe('ready')
      expect(h.writes.at(-1)).toMatchObject({ expectedLastOffset: i * 10, commit: { events: [{ version: i + 1 }] } })
    }
    h.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Conflict' } })
    expect(h.actor.getSnapshot().value).toBe('reloading')
    expect(h.box.current).toBeUndefined()
    expect(w.answers).toMatchObject([{ _tag: 'Left', left: { _tag: 'Unavailable' } }])
  })

  it('a client commitId that meets a second conflict is looked up once: stored, it is answered duplicate; not stored, retried as before', async () => {
    // Stored: the first result, duplicate, no more writes.
    let found: StoredCommit | undefined
    const h = harness(2, undefined, () => found)
    await h.load(at(3, 30))
    const retry = work({}, 'client-retry', true)
    h.actor.send({ type: 'WORK', work: retry })
    h.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Conflict' } })
    expect(h.actor.getSnapshot().value).toBe('reloading') // a first conflict: reload and write again
    await h.load(at(5, 50))
    found = { offset: 31, commit: { commitId: 'client-retry' as CommitId, tenant: 'acme' as TenantId, stream: 's-1' as StreamId, events: [{ id: 'e-x' as EventId, type: 'a' as never, version: 4 as never, timestamp: new Date(0), payload: 1 }] } }
    h.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Conflict' } })
    expect(h.actor.getSnapshot().value).toBe('checkingRetry')
    await h.flush()
    expect(retry.answers).toMatchObject([{ _tag: 'Right', right: { duplicate: true, offset: 31, fromVersion: 4, toVersion: 4 } }])
    expect(h.actor.getSnapshot().value).toBe('ready')
    expect(h.writes).toHaveLength(2)

    // Not stored: reloaded and written again; looked up only once per piece of work.
    const h2 = harness(2, undefined, () => undefined)
    await h2.load(at(0, 0))
    const w = work({}, 'client-new', true)
    h2.actor.send({ type: 'WORK', work: w })
    h2.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Conflict' } })
    await h2.load(at(1, 1))
    h2.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Conflict' } })
    expect(h2.actor.getSnapshot().value).toBe('checkingRetry')
    await h2.flush()
    expect(h2.actor.getSnapshot().value).toBe('reloading')
    await h2.load(at(2, 2))
    expect(h2.writes.at(-1)).toMatchObject({ expectedLastOffset: 2, commit: { events: [{ version: 3 }] } })
    h2.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Conflict' } })
    expect(h2.actor.getSnapshot().value).toBe('reloading') // not looked up a second time
    await h2.load(at(3, 3))
    h2.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Appended', offset: 4 } })
    expect(w.answers).toMatchObject([{ _tag: 'Right', right: { toVersion: 4, offset: 4 } }])

    // A server-made commitId is never looked up (it cannot have been stored before).
    const h3 = harness(2, undefined, () => found)
    await h3.load(at(0, 0))
    h3.actor.send({ type: 'WORK', work: work({}) })
    for (let i = 1; i <= 2; i++) {
      h3.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Conflict' } })
      expect(h3.actor.getSnapshot().value).toBe('reloading')
      await h3.load(at(i, i))
    }
  })

  it('a client commitId with a stale expectedVersion is probed, and answered with the rejection when nothing is stored', async () => {
    const h = harness()
    await h.load(at(5, 9))
    const retry = work({ expectedVersion: 0 }, 'client-2', true)
    h.actor.send({ type: 'WORK', work: retry })
    await h.flush()
    expect(retry.answers).toMatchObject([{ _tag: 'Left', left: { _tag: 'WrongExpectedVersion', actual: 5 } }])
    expect(h.actor.getSnapshot().value).toBe('ready')
    expect(h.box.idle).toBe(true)
  })

  it('a WRONG_EXPECTED_VERSION from a stale copy: reloads, then writes against the log it found', async () => {
    const h = harness()
    await h.load(at(2, 5))
    const w = work({ expectedVersion: 3 }, 'client-ahead', true)
    h.actor.send({ type: 'WORK', work: w })
    expect(h.actor.getSnapshot().value).toBe('reloading')
    await h.load(at(3, 8))
    expect(h.writes).toMatchObject([{ expectedLastOffset: 8, commit: { events: [{ version: 4 }] } }])
    expect(h.box.rejection).toBeUndefined()
    expect(w.answers).toEqual([])
  })

  it('passivates only when idle', async () => {
    const h = harness()
    await h.load(at(0, 0))
    h.actor.send({ type: 'WORK', work: work({}) })
    h.actor.send({ type: 'PASSIVATE' })
    expect(h.actor.getSnapshot().value).toBe('ready')
    h.actor.send({ type: 'WRITTEN', outcome: { _tag: 'Appended', offset: 1 } })
    h.actor.send({ type: 'PASSIVATE' })
    expect(h.actor.getSnapshot().value).toBe('passivated')
  })
})
