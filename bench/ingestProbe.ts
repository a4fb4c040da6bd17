// Ad-hoc probe (not part of npm run bench): durable ingest, publish → appended.
import { freshServer } from './scenarios/common.js'
import { ingest } from './scenarios/ingest.js'

const b = await freshServer()
try {
  console.log('ingest', Math.round(await ingest(b, Number(process.env.EVENTS ?? 20_000), 1_000)))
} finally {
  await b.stop()
}
