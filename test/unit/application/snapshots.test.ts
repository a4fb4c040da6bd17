import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { StreamSupervisor } from '../../../actors/streams/streamSupervisor.js'
import { createInMemoryEventLog } from '../../../src/adapters/memory/inMemoryEventLog.js'
import { createInMemorySnapshotStore } from '../../../src/adapters/memory/inMemorySnapshotStore.js'
import { stateAsOf, takeSnapshot } from '../../../src/application/snapshots/snapshots.js'
import { loadStream, snapshotDue } from '../../../src/application/streams/loadStream.js'
import { bankAccountModule } from '../../../src/domain/examples/bankAccount.js'
import { validateAppendRequest } from '../../../src/domain/streams/appendRequest.js'
import type { CommitId, EventId, StreamId, TenantId } from '../../../src/domain/streams/ids.js'
import { moduleRegistry } from '../../../src/domain/streams/module.js'

let n = 0
const ids = { eventId: () => `e-${++n}` as EventId, commitId: () => `c-${++n}` as CommitId }
let now = 0
const clock = { now: () => new Date(++now * 1000) }
const acme = 'acme' as TenantId
const account = (i: number) => `account-${i}` as StreamId

/** Opens an account and makes `deposits` deposits of 1..k, in commits of up to 7. */
const fill = async (sup: StreamSupervisor, stream: string, deposits: number) => {
  const open = validateAppendRequest('acme', stream, { events: [{ type: 'AccountOpened', payload: { owner: 'ann' } }] })
  if (E.isLeft(open)) throw new Error('bad')
  await sup.append(open.right)
  for (let k = 1; k <= deposits; k += 7) {
    const events = Array.from({ length: Math.min(7, deposits - k + 1) }, (_, j) => ({ type: 'MoneyDeposited', payload: { amount: k + j } }))
    const c = validateAppendRequest('acme', stream, { events })
    if (E.isLeft(c)) throw new Error('bad')
    const r = await sup.append(c.right)
    if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  }
}

describe('snapshots', () => {
  it('is due when an append crosses a multiple of the interval', () => {
    expect(snapshotDue(99, 100, 100)).toBe(true)
    expect(snapshotDue(95, 104, 100)).toBe(true)
    expect(snapshotDue(100, 199, 100)).toBe(false)
    expect(snapshotDue(0, 500, 0)).toBe(false)
  })

  it('the actor stores a snapshot as the version crosses each multiple of snapshotEvery', async () => {
    const log = createInMemoryEventLog()
    const snapshots = createInMemorySnapshotStore()
    const sup = new StreamSupervisor({ log, modules: moduleRegistry([bankAccountModule]), clock, ids, snapshots, snapshotEvery: 50 })
    await fill(sup, 'account-1', 130)
    await sup.close()
    const snap = await snapshots.load(acme, account(1), bankAccountModule.stateVersion)
    expect(snap?.version).toBeGreaterThanOrEqual(100)
    expect(snap?.version).toBeLessThan(107)
    const head = await log.readHead(acme, account(1))
    const prefix = await stateAsOf(log, bankAccountModule, acme, account(1), { version: snap?.version ?? 0 })
    expect(snap?.state).toEqual(prefix.state)
    expect(snap?.offset).toBeLessThanOrEqual(head.lastOffset)
  })

  it('property: snapshot + tail equals a full fold, wherever the snapshot was taken', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 30 }), async (before, after) => {
        const log = createInMemoryEventLog()
        const snapshots = createInMemorySnapshotStore()
        const sup = new StreamSupervisor({ log, modules: moduleRegistry([bankAccountModule]), clock, ids })
        const stream = `account-p${++n}`
        await fill(sup, stream, before)
        await takeSnapshot(log, snapshots, bankAccountModule, acme, stream as StreamId, clock.now())
        for (let k = 0; k < after; k++) {
          const c = validateAppendRequest('acme', stream, { events: [{ type: 'MoneyWithdrawn', payload: { amount: 1 } }] })
          if (E.isRight(c)) await sup.append(c.right)
        }
        await sup.close()
        const full = await loadStream(log, bankAccountModule, acme, stream as StreamId)
        const fast = await loadStream(log, bankAccountModule, acme, stream as StreamId, snapshots)
        return JSON.stringify(fast) === JSON.stringify(full)
      }),
      { numRuns: 25 },
    )
  })

  it('a bumped stateVersion never loads an older snapshot', async () => {
    const log = createInMemoryEventLog()
    const snapshots = createInMemorySnapshotStore()
    const sup = new StreamSupervisor({ log, modules: moduleRegistry([bankAccountModule]), clock, ids })
    await fill(sup, 'account-9', 20)
    await sup.close()
    await takeSnapshot(log, snapshots, bankAccountModule, acme, account(9), clock.now())
    // Poison the stored snapshot: if it were used, the balance would be wrong.
    const stored = await snapshots.load(acme, account(9), 1)
    await snapshots.save(acme, account(9), { ...stored!, state: { status: 'open', owner: 'x', balance: -1, misplaced: 0 } })
    const v2 = { ...bankAccountModule, stateVersion: 2 }
    const loaded = await loadStream(log, v2, acme, account(9), snapshots)
    expect(loaded.state).toEqual({ status: 'open', owner: 'ann', balance: 210, misplaced: 0 })
    const v1 = await loadStream(log, bankAccountModule, acme, account(9), snapshots)
    expect((v1.state as { balance: number }).balance).toBe(-1)
  })

  it('answers the state as of a version and as of a time', async () => {
    const log = createInMemoryEventLog()
    const sup = new StreamSupervisor({ log, modules: moduleRegistry([bankAccountModule]), clock, ids })
    await fill(sup, 'account-5', 14) // commits: open, deposits 1..7, deposits 8..14
    await sup.close()
    expect(await stateAsOf(log, bankAccountModule, acme, account(5), { version: 3 })).toEqual({
      state: { status: 'open', owner: 'ann', balance: 3, misplaced: 0 },
      version: 3,
    })
    const commits = log.commits().filter((c) => c.commit.stream === 'account-5')
    const second = commits[1]?.commit.events[0]?.timestamp as Date
    const asOfTime = await stateAsOf(log, bankAccountModule, acme, account(5), { time: second })
    expect(asOfTime.version).toBe(8)
    expect((asOfTime.state as { balance: number }).balance).toBe(28)
    expect(await stateAsOf(log, bankAccountModule, acme, account(5), { time: new Date(0) })).toMatchObject({ version: 0 })
  })
})
