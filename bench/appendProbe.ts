// Ad-hoc probe (not part of npm run bench): library appends vs the raw limit, in one process.
import { freshServer } from './scenarios/common.js'
import { library, rawLimit } from './scenarios/append.js'

const events = Number(process.env.EVENTS ?? 40_000)
const b = await freshServer()
try {
  if (process.env.SKIP_RAW === undefined) console.log('raw', Math.round(await rawLimit(b, events, 1_000)))
  console.log('library', Math.round(await library(b, events, 1_000)))
} finally {
  await b.stop()
}
