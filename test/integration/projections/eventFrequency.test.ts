import { pack, unpack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { startProjection } from '../../../src/adapters/nats/projections/projectionRunner.js'
import { eventFrequency, frequencyCounts, type EventFrequencyState } from '../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import { acmeEvents, writeCommitsToLog } from '../../support/logWriter.js'
import { withProcessor } from '../../support/processorFixture.js'
import { readModel } from '../../support/projections.js'

type Counts = Record<string, number>
type V1State = { minutes: Counts; hours: Counts; days: Counts }

const minuteOf = (d: Date) => d.toISOString().slice(0, 16)
const prune = (b: Counts, oldest: string) => Object.fromEntries(Object.entries(b).filter(([k]) => k >= oldest))
/** Version 1 as it was (its pruning on every event, which gave the same states as its lazy pruning). */
const v1: ProjectionDefinition<V1State> = {
  ...(eventFrequency as unknown as ProjectionDefinition<V1State>),
  version: 1,
  initialState: { minutes: {}, hours: {}, days: {} },
  fold: (s, e) => {
    const at = new Date(e.timestamp)
    const m = minuteOf(at)
    const h = m.slice(0, 13)
    const d = m.slice(0, 10)
    return {
      minutes: prune({ ...s.minutes, [m]: (s.minutes[m] ?? 0) + 1 }, minuteOf(new Date(at.getTime() - 24 * 3_600_000))),
      hours: prune({ ...s.hours, [h]: (s.hours[h] ?? 0) + 1 }, minuteOf(new Date(at.getTime() - 30 * 86_400_000)).slice(0, 13)),
      days: { ...s.days, [d]: (s.days[d] ?? 0) + 1 },
    }
  },
}

/** A deterministic pseudo-random generator, so a failure can be replayed. */
const rng = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}

const T0 = Date.parse('2026-09-01T00:00:00Z')
const MIN = 60_000

describe('event-frequency version 2 on a real nats-server', () => {
  const fixture = withProcessor({ projectionOptions: { retireAfterMs: 300 } })

  it('rebuilds a version 1 read model with the same counts, then folds incrementally and rebuilds to the pure fold', async () => {
    const { nc } = fixture()
    const ask = async (subject: string, body: unknown) => unpack((await nc.request(subject, pack(body), { timeout: 10_000 })).data) as Record<string, unknown>
    // 8,000 events in time order, a minute or so apart, with a gap of 5 days now and then (weeks in all).
    const random = rng(7)
    let t = T0
    await writeCommitsToLog(nc, 2_000, 50, { at: () => new Date((t += random() < 0.001 ? 5 * 86_400_000 : Math.floor(random() * 2 * MIN))) })
    let events = await acmeEvents(nc)
    let end = events.at(-1)?.offset ?? 0

    const first = await startProjection(nc, v1)
    await first.until((s) => s.state === 'live' && s.checkpoint === end)
    const before = (await readModel(nc, 'event-frequency')) as Map<string, V1State>
    expect(before).toEqual(foldAll(v1, events))
    await first.stop()

    const second = await startProjection(nc, eventFrequency, { retireAfterMs: 300 })
    await second.until((s) => s.generation === 2 && s.version === 2 && s.state === 'live' && s.checkpoint === end)
    let after = (await readModel(nc, 'event-frequency')) as Map<string, EventFrequencyState>
    expect(after).toEqual(foldAll(eventFrequency, events))
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort())
    for (const [key, old] of before) {
      const counts = frequencyCounts(after.get(key) as EventFrequencyState)
      expect(counts.days).toEqual(old.days)
      // Version 2 keeps whole hours and days, so it may hold a few more minutes and hours than version 1 did.
      expect(counts.hours).toMatchObject(old.hours)
      expect(counts.minutes).toMatchObject(old.minutes)
      expect(Object.keys(counts.minutes).length).toBeLessThan(Object.keys(old.minutes).length + 60)
    }

    // Then events out of time order, some older than the windows, folded as they come.
    await writeCommitsToLog(nc, 500, 50, { first: 2_000, at: () => new Date(t - Math.floor(random() * 60 * 86_400_000)) })
    events = await acmeEvents(nc)
    end = events.at(-1)?.offset ?? 0
    await second.until((s) => s.state === 'live' && s.checkpoint === end)
    after = (await readModel(nc, 'event-frequency')) as Map<string, EventFrequencyState>
    expect(after).toEqual(foldAll(eventFrequency, events))

    expect(await ask('allsource.admin.projection.event-frequency.rebuild', { fromOffset: 0 })).toMatchObject({ control: { rebuild: { fromOffset: 0 } } })
    await second.until((s) => s.generation === 3 && s.state === 'live' && s.checkpoint === end)
    expect(await readModel(nc, 'event-frequency')).toEqual(after)
    await second.stop()
  }, 120_000)
})

