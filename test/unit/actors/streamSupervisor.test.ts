import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { describe, expect, it, vi } from 'vitest'
import { StreamSupervisor } from '../../../actors/streams/streamSupervisor.js'
import { createInMemoryEventLog } from '../../../src/adapters/memory/inMemoryEventLog.js'
import { validateAppendRequest } from '../../../src/domain/streams/appendRequest.js'
import type { AppendCommand } from '../../../src/domain/streams/appendRequest.js'
import { bankAccountModule } from '../../../src/domain/examples/bankAccount.js'
import { defineModule, moduleRegistry, type StreamModule } from '../../../src/domain/streams/module.js'
import type { CommitId, EventId } from '../../../src/domain/streams/ids.js'
import type { EventLog } from '../../../src/application/streams/ports.js'

let n = 0
const ids = { eventId: () => `e-${++n}` as EventId, commitId: () => `c-${++n}` as CommitId }
const clock = { now: () => new Date(0) }

const supervisor = (log: EventLog, modules: StreamModule[] = [], extra: Partial<ConstructorParameters<typeof StreamSupervisor>[0]> = {}) =>
  new StreamSupervisor({ log, modules: moduleRegistry(modules), clock, ids, ...extra })

const cmd = (stream: string, body: Record<string, unknown>): AppendCommand => {
  const r = validateAppendRequest('acme', stream, body)
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return r.right
}
const one = (stream: string, extra: Record<string, unknown> = {}, type = 'thing') => cmd(stream, { events: [{ type, payload: { n: ++n } }], ...extra })

describe('stream supervisor and actors over an in-memory log', () => {
  it('lets exactly one of 50 concurrent appends with expectedVersion 0 win', async () => {
    const sup = supervisor(createInMemoryEventLog())
    const rs = await Promise.all(Array.from({ length: 50 }, () => sup.append(one('race', { expectedVersion: 0 }))))
    expect(rs.filter(E.isRight)).toHaveLength(1)
    for (const r of rs.filter(E.isLeft)) expect(r.left).toEqual({ _tag: 'WrongExpectedVersion', expected: 0, actual: 1 })
    await sup.close()
  })

  it('serves one stream in submission order', async () => {
    const log = createInMemoryEventLog()
    const sup = supervisor(log)
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => sup.append(cmd('ordered', { events: [{ type: 'n', payload: i }] }))))
    expect(rs.map((r) => (E.isRight(r) ? r.right.toVersion : -1))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(log.commits().map((c) => c.commit.events[0]?.payload)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    await sup.close()
  })

  it('answers a repeated commitId with the first result and duplicate: true, and refuses it on another stream', async () => {
    const sup = supervisor(createInMemoryEventLog())
    const first = await sup.append(one('dup-a', { commitId: 'k-1', expectedVersion: 'no_stream' }))
    const again = await sup.append(one('dup-a', { commitId: 'k-1', expectedVersion: 'no_stream' }))
    expect(E.isRight(first) && E.isRight(again) && again.right).toEqual(E.isRight(first) && { ...first.right, duplicate: true })
    const other = await sup.append(one('dup-b', { commitId: 'k-1' }))
    expect(E.isLeft(other) && other.left._tag).toBe('BadRequest')
    await sup.close()
  })

  it('refuses a commit that breaks an invariant with VALIDATION_FAILED and keeps serving the stream', async () => {
    const sup = supervisor(createInMemoryEventLog(), [bankAccountModule])
    await sup.execute('acme' as never, 'account-1' as never, { type: 'Open', owner: 'ann' })
    const bad = await sup.append(cmd('account-1', { events: [{ type: 'MoneyWithdrawn', payload: { amount: 5 } }] }))
    expect(E.isLeft(bad) && bad.left._tag).toBe('ValidationFailed')
    const good = await sup.append(cmd('account-1', { events: [{ type: 'MoneyDeposited', payload: { amount: 5 } }] }))
    expect(E.isRight(good) && good.right.toVersion).toBe(2)
    await sup.close()
  })

  it('answers INTERNAL when a module throws, and the actor keeps serving', async () => {
    const fragile = defineModule({
      category: 'fragile',
      stateVersion: 1,
      events: { Boom: t.type({}), Fine: t.type({}) },
      initialState: 0,
      evolve: (s: number, e) => {
        if (e.type === 'Boom') throw new Error('kaboom')
        return s + 1
      },
    })
    const sup = supervisor(createInMemoryEventLog(), [fragile])
    const boom = await sup.append(cmd('fragile-1', { events: [{ type: 'Boom', payload: {} }] }))
    expect(boom).toEqual(E.left({ _tag: 'Internal', message: 'domain module failed: kaboom' }))
    const fine = await sup.append(cmd('fragile-1', { events: [{ type: 'Fine', payload: {} }] }))
    expect(E.isRight(fine) && fine.right.toVersion).toBe(1)
    await sup.close()
  })

  it('answers INTERNAL (not UNAVAILABLE) when evolve throws while a stream is loaded, as during an append', async () => {
    const fragile = defineModule({
      category: 'brittle',
      stateVersion: 1,
      events: { Boom: t.type({}), Fine: t.type({}) },
      initialState: 0,
      evolve: (s: number, e) => {
        if (e.type === 'Boom') throw new Error('kaboom')
        return s + 1
      },
    })
    const log = createInMemoryEventLog()
    // A Boom already in the log (written before this module's evolve learnt to throw on it).
    const plain = supervisor(log)
    expect(E.isRight(await plain.append(cmd('brittle-1', { events: [{ type: 'Boom', payload: {} }] })))).toBe(true)
    await plain.close()
    const sup = supervisor(log, [fragile])
    const r = await sup.append(cmd('brittle-1', { events: [{ type: 'Fine', payload: {} }] }))
    expect(r).toEqual(E.left({ _tag: 'Internal', message: 'stream could not be loaded: domain module failed: kaboom' }))
    // An outage while loading stays UNAVAILABLE.
    const down: EventLog = { ...log, readHead: () => Promise.reject(new Error('connection closed')) }
    const sup2 = supervisor(down, [fragile])
    const r2 = await sup2.append(cmd('brittle-2', { events: [{ type: 'Fine', payload: {} }] }))
    expect(r2).toEqual(E.left({ _tag: 'Unavailable', message: 'stream could not be loaded: connection closed', details: { retryAfterMs: 1_000 } }))
    // A full consumer budget says when to retry.
    const full: EventLog = { ...log, readHead: () => Promise.reject(Object.assign(new Error('too many reads in progress'), { retryAfterMs: 2_000 })) }
    const sup3 = supervisor(full, [fragile])
    const r3 = await sup3.append(cmd('brittle-3', { events: [{ type: 'Fine', payload: {} }] }))
    expect(E.isLeft(r3) && r3.left._tag === 'Unavailable' && r3.left.details).toEqual({ retryAfterMs: 2_000 })
    await sup3.close()
    await sup.close()
    await sup2.close()
  })

  it('answers INTERNAL when the log throws on append, and the actor keeps serving', async () => {
    const log = createInMemoryEventLog()
    let fail = true
    const flaky: EventLog = { ...log, append: (c, o) => (fail ? ((fail = false), Promise.reject(new Error('disk on fire'))) : log.append(c, o)) }
    const sup = supervisor(flaky)
    const r1 = await sup.append(one('flaky'))
    expect(E.isLeft(r1) && r1.left._tag).toBe('Internal')
    const r2 = await sup.append(one('flaky'))
    expect(E.isRight(r2) && r2.right.toVersion).toBe(1)
    await sup.close()
  })

  it('answers UNAVAILABLE when the stream cannot be loaded, and the next request gets a fresh actor', async () => {
    const log = createInMemoryEventLog()
    let fail = true
    const flaky: EventLog = { ...log, readHead: (t, s) => (fail ? ((fail = false), Promise.reject(new Error('no leader'))) : log.readHead(t, s)) }
    const sup = supervisor(flaky)
    const rs = await Promise.all([sup.append(one('cold')), sup.append(one('cold'))])
    for (const r of rs) expect(E.isLeft(r) && r.left._tag).toBe('Unavailable')
    const r = await sup.append(one('cold'))
    expect(E.isRight(r) && r.right.toVersion).toBe(1)
    await sup.close()
  })

  it('after another writer got in first: retries "any", refuses a number with WRONG_EXPECTED_VERSION', async () => {
    const log = createInMemoryEventLog()
    const sup = supervisor(log)
    await sup.append(one('contended'))
    // Another processor appends behind this actor's back.
    const head = await log.readHead('acme' as never, 'contended' as never)
    const sneaky = one('contended')
    await log.append({ commitId: 'x-1' as CommitId, tenant: sneaky.tenant, stream: sneaky.stream, events: [{ id: 'x' as EventId, type: 'thing' as never, version: 2 as never, timestamp: new Date(0), payload: {} }] }, head.lastOffset)
    const stale = await sup.append(one('contended', { expectedVersion: 1 }))
    expect(stale).toEqual(E.left({ _tag: 'WrongExpectedVersion', expected: 1, actual: 2 }))
    const any = await sup.append(one('contended'))
    expect(E.isRight(any) && any.right.fromVersion).toBe(3)
    await sup.close()
  })

  it('keeps resident actors under the cap however many streams are touched', { timeout: 30_000 }, async () => {
    const sup = supervisor(createInMemoryEventLog(), [], { maxResident: 100 })
    for (let i = 0; i < 2_000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => sup.append(one(`many-${i + j}`))))
      expect(sup.resident).toBeLessThanOrEqual(150)
    }
    expect(sup.resident).toBeLessThanOrEqual(100)
    await sup.close()
  })

  it('passivates idle actors after the idle timeout', async () => {
    const sup = supervisor(createInMemoryEventLog(), [], { idleTimeoutMs: 50 })
    await Promise.all(Array.from({ length: 10 }, (_, i) => sup.append(one(`idle-${i}`))))
    expect(sup.resident).toBe(10)
    await vi.waitFor(() => expect(sup.resident).toBe(0), { timeout: 5_000 })
    const again = await sup.append(one('idle-3'))
    expect(E.isRight(again) && again.right.toVersion).toBe(2)
    await sup.close()
  })

  it('passivateWhere drops the idle actors it picks (a partition moved) and leaves the rest', async () => {
    const sup = supervisor(createInMemoryEventLog())
    await Promise.all(Array.from({ length: 10 }, (_, i) => sup.append(one(`moved-${i}`))))
    expect(sup.passivateWhere((tenant, stream) => tenant === 'acme' && Number(stream.split('-')[1]) % 2 === 0)).toBe(5)
    await vi.waitFor(() => expect(sup.resident).toBe(5), { timeout: 5_000 })
    const again = await sup.append(one('moved-4'))
    expect(E.isRight(again) && again.right.toVersion).toBe(2)
    await sup.close()
  })

  it('close() waits for accepted work, then refuses new work with UNAVAILABLE', async () => {
    const log = createInMemoryEventLog()
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => (release = r))
    const slow: EventLog = { ...log, append: async (c, o) => (await gate, log.append(c, o)) }
    const sup = supervisor(slow)
    const pending = sup.append(one('slow'))
    const closing = sup.close()
    const late = await sup.append(one('slow'))
    expect(E.isLeft(late) && late.left._tag).toBe('Unavailable')
    release()
    expect(E.isRight(await pending)).toBe(true)
    await closing
    expect(sup.inFlight).toBe(0)
  })

  it('close() twice while work is in flight: both calls resolve once it is answered', async () => {
    const log = createInMemoryEventLog()
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => (release = r))
    const slow: EventLog = { ...log, append: async (c, o) => (await gate, log.append(c, o)) }
    const sup = supervisor(slow)
    const pending = sup.append(one('slow-twice'))
    let closed = 0
    const first = sup.close().then(() => closed++)
    const second = sup.close().then(() => closed++)
    release()
    expect(E.isRight(await pending)).toBe(true)
    await Promise.all([first, second])
    expect(closed).toBe(2)
    await sup.close() // and once more after it has finished
  })

  it('answers a decider no-op with no event ids', async () => {
    const sup = supervisor(createInMemoryEventLog(), [bankAccountModule])
    await sup.execute('acme' as never, 'account-2' as never, { type: 'Open', owner: 'ann' })
    const noop = await sup.execute('acme' as never, 'account-2' as never, { type: 'Open', owner: 'ann' })
    expect(noop).toEqual(E.right({ tenant: 'acme', stream: 'account-2', offset: 1, fromVersion: 2, toVersion: 1, eventIds: [] }))
    await sup.close()
  })
})
