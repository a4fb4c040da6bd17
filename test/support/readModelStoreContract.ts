import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ReadModelStore } from '../../src/application/projections/ports.js'
import { runChunkedFold } from '../../src/application/projections/runChunkedFold.js'
import { foldAll, type ProjectedEvent, type ProjectionDefinition } from '../../src/domain/projections/projection.js'
import type { Commit } from '../../src/domain/streams/event.js'
import { MemoryLog, memoryFeed, rng } from './memoryFold.js'

const entry = (state: unknown, offset: number, index = 0) => ({ state, offset, index })

const counter: ProjectionDefinition<{ n: number; last: number }> = {
  name: 'contract-counter',
  version: 1,
  key: (e) => (e.payload as { key: string }).key,
  initialState: { n: 0, last: 0 },
  fold: (s, e) => ({ n: s.n + 1, last: e.offset }),
}

/**
 * The contract every {@link ReadModelStore} keeps. `open` gives a fresh, empty store (its own
 * bucket); it uses only the port.
 */
export const readModelStoreContract = (name: string, open: () => Promise<ReadModelStore<unknown>>): void => {
  describe(`ReadModelStore contract: ${name}`, () => {
    it('starts empty; a key never written has revision 0 and no entry', async () => {
      const store = await open()
      expect(await store.isEmpty()).toBe(true)
      expect(await store.get('t.k')).toEqual({ revision: 0 })
    })

    it('creates a key expecting revision 0, then answers it with its new revision', async () => {
      const store = await open()
      const r = await store.put('t.k', entry({ a: 1 }, 3, 1), 0)
      expect(r._tag).toBe('Stored')
      const revision = r._tag === 'Stored' ? r.revision : -1
      expect(revision).toBeGreaterThan(0)
      expect(await store.get('t.k')).toEqual({ entry: entry({ a: 1 }, 3, 1), revision })
      expect(await store.isEmpty()).toBe(false)
    })

    it('updates only from the current revision; a stale or wrong one is fenced and changes nothing', async () => {
      const store = await open()
      const first = await store.put('t.k', entry(1, 1), 0)
      if (first._tag !== 'Stored') throw new Error(first._tag)
      const second = await store.put('t.k', entry(2, 2), first.revision)
      if (second._tag !== 'Stored') throw new Error(second._tag)
      expect(second.revision).toBeGreaterThan(first.revision)
      expect((await store.put('t.k', entry(3, 3), first.revision))._tag).toBe('Fenced')
      expect((await store.put('t.k', entry(3, 3), 0))._tag).toBe('Fenced')
      expect((await store.put('t.other', entry(3, 3), 12345))._tag).toBe('Fenced')
      expect(await store.get('t.k')).toEqual({ entry: entry(2, 2), revision: second.revision })
      expect(await store.get('t.other')).toEqual({ revision: 0 })
    })

    it('takes puts to many keys in flight at once; revisions grow across keys', async () => {
      const store = await open()
      const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => store.put(`t.k-${i}`, entry(i, i + 1), 0)))
      const revisions = rs.map((r) => (r._tag === 'Stored' ? r.revision : -1))
      expect(Math.min(...revisions)).toBeGreaterThan(0)
      expect(new Set(revisions).size).toBe(200)
      // Of two writers racing from the same revision, exactly one wins.
      const base = revisions[7] as number
      const race = await Promise.all([store.put('t.k-7', entry('a', 1000), base), store.put('t.k-7', entry('b', 1000), base)])
      expect(race.map((r) => r._tag).sort()).toEqual(['Fenced', 'Stored'])
      const winner = race[0]?._tag === 'Stored' ? 'a' : 'b'
      expect((await store.get('t.k-7')).entry?.state).toBe(winner)
    })

    it('a chunked fold into it gives the read model foldAll gives (random logs, chunks, caches)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(fc.constantFrom('a', 'b', 'c', 'd.e'), { minLength: 1, maxLength: 3 }), { maxLength: 40 }),
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 0, max: 4 }),
          async (keys, chunk, cacheKeys) => {
            const store = (await open()) as ReadModelStore<{ n: number; last: number }>
            const log = new MemoryLog()
            const events: ProjectedEvent[] = []
            keys.forEach((ks, i) => {
              const offset = i + 1
              const make = (): Commit => ({ commitId: `c${offset}`, tenant: 't', stream: 's', events: ks.map((key, v) => ({ id: `e${offset}-${v}`, type: 'x', version: v + 1, timestamp: new Date(0), payload: { key } })) }) as unknown as Commit
              log.append(make)
              events.push(...make().events.map((e) => ({ ...e, tenant: 't', stream: 's', offset }) as unknown as ProjectedEvent))
            })
            log.close()
            const failures: string[] = []
            const fold = runChunkedFold(counter, store, memoryFeed(log, { ackFloor: 0 }, rng(keys.length)), { publish: () => undefined }, { chunk, cacheKeys }, {
              progress: () => undefined,
              poison: (p) => failures.push(p.message),
              failure: (m) => failures.push(m),
            })
            await fold.done
            expect(failures).toEqual([])
            const expected = foldAll(counter, events)
            for (const [k, state] of expected) expect((await store.get(k)).entry?.state).toEqual(state)
          },
        ),
        { numRuns: 15 },
      )
    })
  })
}
