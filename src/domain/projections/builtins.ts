import type { ProjectionDefinition } from './projection.js'

const isPlainObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** `entity-state`: key = stream; state = the stream's payloads shallow-merged in version order. */
export const entityState: ProjectionDefinition<Record<string, unknown>> = {
  name: 'entity-state',
  version: 1,
  key: (e) => e.stream,
  initialState: {},
  fold: (s, e) => (isPlainObject(e.payload) ? { ...s, ...e.payload } : s),
}

/** `event-counter`: key = event type; state = `{ count }`. */
export const eventCounter: ProjectionDefinition<{ readonly count: number }> = {
  name: 'event-counter',
  version: 1,
  key: (e) => e.type,
  initialState: { count: 0 },
  fold: (s) => ({ count: s.count + 1 }),
}

const pad = (n: number) => String(n).padStart(2, '0')
const minuteOf = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`

/** Counts grouped by their enclosing bucket: `chunks[parent][i]` is the count of child bucket `i`. */
export type FrequencyChunks = Readonly<Record<string, readonly number[]>>

/**
 * The `event-frequency` state (version 2). Counts are kept in fixed-size arrays, one per enclosing
 * bucket, so an event copies one short array per level and the small maps of arrays, never a map
 * of every bucket:
 * - `minutes["2026-11-24T16"][37]`: events in the minute 16:37 (60 counts per UTC hour);
 * - `hours["2026-11-24"][16]`: events in the hour 16:00–16:59 (24 counts per UTC day);
 * - `days["2026-11"][23]`: events on 24 November (31 counts per UTC month, index = day − 1).
 * `newest` is the newest event's minute (`2026-11-24T16:37`, `''` before the first event).
 */
export interface EventFrequencyState {
  readonly newest: string
  readonly minutes: FrequencyChunks
  readonly hours: FrequencyChunks
  readonly days: FrequencyChunks
}

/** A time's UTC buckets: the keys of its minute, hour, day and month, and its indices in them. */
interface Buckets {
  readonly minute: string
  readonly hour: string
  readonly day: string
  readonly month: string
  readonly minuteOfHour: number
  readonly hourOfDay: number
  readonly dayOfMonth: number
}

const bucketsAt = (minuteMs: number): Buckets => {
  const m = minuteOf(new Date(minuteMs))
  return {
    minute: m,
    hour: m.slice(0, 13),
    day: m.slice(0, 10),
    month: m.slice(0, 7),
    minuteOfHour: Number(m.slice(14, 16)),
    hourOfDay: Number(m.slice(11, 13)),
    dayOfMonth: Number(m.slice(8, 10)) - 1,
  }
}

/** The buckets of a time; the last ones are remembered, since consecutive events mostly share them. */
const bucketsOf = (() => {
  let lastMinute = Number.NaN
  let last = bucketsAt(0)
  return (ms: number): Buckets => {
    const minute = Math.floor(ms / 60_000)
    if (minute !== lastMinute) {
      last = bucketsAt(minute * 60_000)
      lastMinute = minute
    }
    return last
  }
})()

const HOUR = 3_600_000
const DAY = 86_400_000
/** Minute counts are kept for the newest event's hour and the 24 before it. */
const MINUTE_HOURS = 24
/** Hour counts are kept for the newest event's day and the 30 before it. */
const HOUR_DAYS = 30

/** The oldest hour key whose minute counts are kept, and the oldest day key whose hour counts are. */
const floorsOf = (newestMs: number) => ({
  hour: minuteOf(new Date(newestMs - MINUTE_HOURS * HOUR)).slice(0, 13),
  day: minuteOf(new Date(newestMs - HOUR_DAYS * DAY)).slice(0, 10),
})

/** `chunks` with child `i` of `key` counted once more: one array of `size` and the map of arrays are copied. */
const bump = (chunks: FrequencyChunks, key: string, size: number, i: number): FrequencyChunks => {
  const old = chunks[key]
  const next = old === undefined ? new Array<number>(size).fill(0) : old.slice()
  next[i] = (next[i] as number) + 1
  const out = { ...chunks }
  out[key] = next
  return out
}

const prune = (chunks: FrequencyChunks, oldest: string): FrequencyChunks => {
  for (const k in chunks) if (k < oldest) return Object.fromEntries(Object.entries(chunks).filter(([key]) => key >= oldest))
  return chunks
}

/**
 * `event-frequency`: key = event type; state = counts per UTC minute, hour and day
 * ({@link EventFrequencyState}), an analytics read model. It stays bounded: minute counts are kept
 * for the newest event's hour and the 24 before it, hour counts for its day and the 30 before it,
 * day counts forever. An event older than a window is counted only in the coarser buckets still
 * kept. The state depends only on which events were folded, not on their order, so a rebuild gives
 * the same state. Per event the fold copies one array of at most 60 counts per level and the maps
 * of arrays (at most 25, 31 and one key per month), however many buckets are filled.
 */
export const eventFrequency: ProjectionDefinition<EventFrequencyState> = {
  name: 'event-frequency',
  version: 2,
  key: (e) => e.type,
  // Its state is up to ~3.4 KB of counts (25 hours of minutes, 31 days of hours, the days): its
  // topic carries the state of each write, not of every event (see ProjectionDefinition.topic).
  topic: 'latest',
  initialState: { newest: '', minutes: {}, hours: {}, days: {} },
  fold: (s, e) => {
    const ms = e.timestamp instanceof Date ? e.timestamp.getTime() : Date.parse(String(e.timestamp))
    const b = bucketsOf(ms)
    let { newest, minutes, hours } = s
    if (b.minute > newest) {
      // The floors move only when the newest hour or day does.
      if (!newest.startsWith(b.hour)) {
        const floors = floorsOf(ms)
        minutes = prune(minutes, floors.hour)
        if (!newest.startsWith(b.day)) hours = prune(hours, floors.day)
      }
      newest = b.minute
    }
    // An event older than the newest one is counted only where its bucket is still kept; a kept
    // chunk is always in the window, so the newest's floors are computed only for a missing one.
    const floors = (b.hour in minutes && b.day in hours) || b.minute === newest ? undefined : floorsOf(Date.parse(`${newest}Z`))
    return {
      newest,
      minutes: floors === undefined || b.hour in minutes || b.hour >= floors.hour ? bump(minutes, b.hour, 60, b.minuteOfHour) : minutes,
      hours: floors === undefined || b.day in hours || b.day >= floors.day ? bump(hours, b.day, 24, b.hourOfDay) : hours,
      days: bump(s.days, b.month, 31, b.dayOfMonth),
    }
  },
}

/** Counts as maps of bucket → count (`2026-11-24T16:37`, `2026-11-24T16`, `2026-11-24`), zeros left out. */
export interface FrequencyCounts {
  readonly minutes: Readonly<Record<string, number>>
  readonly hours: Readonly<Record<string, number>>
  readonly days: Readonly<Record<string, number>>
}

const flatten = (chunks: FrequencyChunks, child: (i: number) => string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const parent of Object.keys(chunks).sort()) {
    ;(chunks[parent] as readonly number[]).forEach((n, i) => {
      if (n > 0) out[`${parent}${child(i)}`] = n
    })
  }
  return out
}

/** An `event-frequency` state as the bucket → count maps of version 1 (for clients and tests). */
export const frequencyCounts = (s: EventFrequencyState): FrequencyCounts => ({
  minutes: flatten(s.minutes, (i) => `:${pad(i)}`),
  hours: flatten(s.hours, (i) => `T${pad(i)}`),
  days: flatten(s.days, (i) => `-${pad(i + 1)}`),
})
