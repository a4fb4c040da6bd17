// Ad-hoc probe (not part of npm run bench): CPU per event of the event-frequency fold alone, on a
// state that already holds 1,440+ minute, 720+ hour and 365 day buckets. FOLD_MODULE picks the
// builtins module to load (e.g. a checkout of an older version); FOLDS the number of folds.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ProjectedEvent, ProjectionDefinition } from '../src/domain/projections/projection.js'

const modulePath = process.env.FOLD_MODULE === undefined ? '../src/domain/projections/builtins.js' : pathToFileURL(resolve(process.env.FOLD_MODULE)).href
const { eventFrequency: def } = (await import(modulePath)) as { eventFrequency: ProjectionDefinition<unknown> }
const folds = Number(process.env.FOLDS ?? 200_000)
const MIN = 60_000
const T0 = Date.parse('2026-01-01T00:00:00Z')
const ev = (ms: number): ProjectedEvent => ({ id: 'e', type: 't', version: 1, timestamp: new Date(ms), payload: {}, tenant: 'acme', stream: 's', offset: 1 }) as ProjectedEvent

// A year of days, 31 days of hours, then 25 hours of minutes: every bucket kind is full.
let s = def.initialState
const start = T0 + 365 * 1_440 * MIN
for (let d = 0; d < 365; d++) s = def.fold(s, ev(T0 + d * 1_440 * MIN))
for (let h = 0; h < 31 * 24; h++) s = def.fold(s, ev(start - 31 * 1_440 * MIN + h * 60 * MIN))
for (let m = 0; m < 25 * 60; m++) s = def.fold(s, ev(start - 25 * 60 * MIN + m * MIN))
const full = s

const run = (name: string, at: (i: number) => number) => {
  const events = Array.from({ length: folds }, (_, i) => ev(at(i)))
  let st = full
  for (let i = 0; i < Math.min(20_000, folds); i++) st = def.fold(st, events[i % folds] as ProjectedEvent) // warm-up
  st = full
  const c0 = process.cpuUsage()
  for (const e of events) st = def.fold(st, e)
  const c = process.cpuUsage(c0)
  console.log(`${name}: ${((c.user + c.system) / folds).toFixed(3)} us/event (${folds} folds)`)
}

run('same minute (many events per minute)', () => start)
run('a new minute every event (in order)', (i) => start + i * MIN)
run('10 events per minute (in order)', (i) => start + Math.floor(i / 10) * MIN + (i % 10) * 1000)
run('random times within the last 24 h', (i) => start - ((i * 7_919) % 1_440) * MIN)
