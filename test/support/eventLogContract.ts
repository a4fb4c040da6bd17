import { describe, expect, it } from 'vitest'
import type { Commit } from '../../src/domain/streams/event.js'
import type { CommitId, EventId, EventType, StreamId, TenantId, Version } from '../../src/domain/streams/ids.js'
import type { EventLog, StoredCommit } from '../../src/application/streams/ports.js'

let unique = 0
const id = (prefix: string) => `${prefix}-${process.pid}-${Date.now()}-${++unique}`

/** A commit of `count` events for versions after `from`. */
export const commitOf = (tenant: string, stream: string, from: number, count = 1, commitId = id('c')): Commit => ({
  commitId: commitId as CommitId,
  tenant: tenant as TenantId,
  stream: stream as StreamId,
  events: Array.from({ length: count }, (_, i) => ({
    id: id('e') as EventId,
    type: 'thing.happened' as EventType,
    version: (from + i + 1) as Version,
    timestamp: new Date(1_700_000_000_000 + i),
    payload: { i, nested: { ok: true } },
  })),
})

const collect = async (it: AsyncIterable<StoredCommit>): Promise<StoredCommit[]> => {
  const out: StoredCommit[] = []
  for await (const c of it) out.push(c)
  return out
}

/**
 * The contract every {@link EventLog} implementation must keep. Run it against each one (the
 * in-memory log in the unit tier, JetStream in the integration tier); it uses only the port.
 */
export const eventLogContract = (name: string, makeLog: () => EventLog): void => {
  describe(`EventLog contract: ${name}`, () => {
    it('starts every stream empty', async () => {
      expect(await makeLog().readHead('t' as TenantId, id('s') as StreamId)).toEqual({ version: 0, lastOffset: 0 })
    })

    it('appends when the expected last offset holds, and the head follows', async () => {
      const log = makeLog()
      const s = id('s')
      const a = await log.append(commitOf('t', s, 0, 2), 0)
      expect(a._tag).toBe('Appended')
      const offset = a._tag === 'Appended' ? a.offset : -1
      expect(await log.readHead('t' as TenantId, s as StreamId)).toEqual({ version: 2, lastOffset: offset })
      const b = await log.append(commitOf('t', s, 2), offset)
      expect(b._tag).toBe('Appended')
      expect(b._tag === 'Appended' && b.offset).toBeGreaterThan(offset)
    })

    it('refuses a stale expected last offset as a Conflict and writes nothing', async () => {
      const log = makeLog()
      const s = id('s')
      await log.append(commitOf('t', s, 0), 0)
      const r = await log.append(commitOf('t', s, 0), 0)
      expect(r._tag).toBe('Conflict')
      expect((await log.readHead('t' as TenantId, s as StreamId)).version).toBe(1)
    })

    it('stores a commitId once: a second append answers Duplicate with the first commit (or Conflict on a stale offset), and findDuplicate finds it', async () => {
      const log = makeLog()
      const s = id('s')
      const first = commitOf('t', s, 0)
      const a = await log.append(first, 0)
      const b = await log.append(commitOf('t', s, 1), a._tag === 'Appended' ? a.offset : 0)
      const check = (original: StoredCommit | undefined) => {
        expect(original?.commit.commitId).toBe(first.commitId)
        expect(original?.commit.events.map((e) => e.version)).toEqual([1])
        expect(original?.commit.events[0]?.timestamp).toEqual(first.events[0]?.timestamp)
      }
      // Which check a server makes first (dedupe or expected offset) is its own business.
      const stale = await log.append(first, 0)
      expect(['Duplicate', 'Conflict']).toContain(stale._tag)
      if (stale._tag === 'Duplicate') check(stale.original)
      check(await log.findDuplicate(first))
      // With the right offset, the dedupe is the only check left.
      const fresh = await log.append(first, b._tag === 'Appended' ? b.offset : 0)
      expect(fresh._tag).toBe('Duplicate')
      if (fresh._tag === 'Duplicate') check(fresh.original)
      expect((await log.readHead('t' as TenantId, s as StreamId)).version).toBe(2)
    })

    it('finds a stored commitId without writing, and says so when there is none', async () => {
      const log = makeLog()
      const s = id('s')
      const c = commitOf('t', s, 0)
      expect(await log.findDuplicate(c)).toBeUndefined()
      await log.append(c, 0)
      expect((await log.findDuplicate(c))?.commit.stream).toBe(s)
      expect((await log.readHead('t' as TenantId, s as StreamId)).version).toBe(1)
    })

    it('reads a stream in version order up to an offset, and keeps streams apart', async () => {
      const log = makeLog()
      const s = id('s')
      const other = id('o')
      let last = 0
      for (let v = 0; v < 6; v += 2) {
        const r = await log.append(commitOf('t', s, v, 2), last)
        last = r._tag === 'Appended' ? r.offset : -1
        await log.append(commitOf('t', other, v / 2), (await log.readHead('t' as TenantId, other as StreamId)).lastOffset)
      }
      const all = await collect(log.readStream('t' as TenantId, s as StreamId, last))
      expect(all.flatMap((c) => c.commit.events.map((e) => e.version))).toEqual([1, 2, 3, 4, 5, 6])
      expect(all.every((c) => c.commit.stream === s)).toBe(true)
      const firstTwo = await collect(log.readStream('t' as TenantId, s as StreamId, all[1]?.offset ?? 0))
      expect(firstTwo).toHaveLength(2)
    })

    it('keeps tenants apart', async () => {
      const log = makeLog()
      const s = id('s')
      await log.append(commitOf('t1', s, 0), 0)
      expect((await log.readHead('t2' as TenantId, s as StreamId)).version).toBe(0)
    })
  })
}
