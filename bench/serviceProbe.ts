// Ad-hoc probe (not part of npm run bench): the service path, processor side (profile this process).
import { freshServer } from './scenarios/common.js'
import { service } from './scenarios/service.js'

const b = await freshServer()
try {
  const r = await service(b, Number(process.env.EVENTS ?? 40_000), 1_000)
  console.log(JSON.stringify(r))
} finally {
  await b.stop()
}
