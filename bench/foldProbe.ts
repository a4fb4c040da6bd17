// Ad-hoc probe (not part of npm run bench): fold rate of the built-ins over an N-event log.
import { freshServer } from './scenarios/common.js'
import { writeLog, replayRaw } from './scenarios/replay.js'
import { startProjection } from '../src/adapters/nats/projections/projectionRunner.js'
import { entityState, eventCounter, eventFrequency } from '../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../src/domain/projections/projection.js'
import { jetstreamManager } from '@nats-io/jetstream'

const events = Number(process.env.EVENTS ?? 300_000)
const b = await freshServer()
try {
  await writeLog(b, events, 1_000, 10)
  const last = (await (await jetstreamManager(b.nc)).streams.info('ALLSOURCE_EVENTS')).state.last_seq
  console.log('raw', Math.round(await replayRaw(b, events)))
  for (const def of ([entityState, eventCounter, eventFrequency] as ProjectionDefinition<unknown>[]).filter((d) => process.env.ONLY === undefined || d.name === process.env.ONLY)) {
    const t1 = performance.now()
    const runner = await startProjection(b.nc, def)
    while (runner.status().checkpoint < last) await new Promise((r) => setTimeout(r, 5))
    console.log(def.name, Math.round(events / ((performance.now() - t1) / 1000)))
    await runner.stop()
  }
} finally {
  await b.stop()
}
