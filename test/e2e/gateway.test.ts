/**
 * `npm start`'s gateway as a user meets it: the processor process logs the URL of its HTTP
 * gateway, answers HTTP appends that NATS clients then read, and keeps serving NATS with a
 * warning naming ALLSOURCE_HTTP_PORT when that port is taken.
 */
import { createServer, type Server } from 'node:net'
import { connect, headers } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../src/main/natsServer/launchNatsServer.js'
import { cleanUp } from '../support/cleanUp.js'
import { startNatsServer, type TestNatsServer } from '../support/natsServer.js'
import { type ProcessorProcess, spawnProcessor } from '../support/processor.js'

let server: TestNatsServer
const procs: ProcessorProcess[] = []
let blocker: Server | undefined

beforeAll(async () => {
  server = await startNatsServer()
})
afterAll(() =>
  cleanUp(
    ...procs.map((p) => async () => {
      if (p.proc.exitCode === null && p.proc.signalCode === null) {
        p.proc.kill('SIGTERM')
        await p.exited()
      }
    }),
    () => new Promise<void>((r) => (blocker === undefined ? r() : blocker.close(() => r()))),
    () => server?.stop(),
  ),
)

const env = (port: number) => ({ NATS_URL: server.url, ALLSOURCE_EMBEDDED: 'never', ALLSOURCE_AUTH: 'off', ALLSOURCE_HTTP_PORT: String(port), ALLSOURCE_PROJECTIONS: '0', ALLSOURCE_INGEST: '0' })

describe('the processor process', () => {
  it('serves HTTP on ALLSOURCE_HTTP_PORT, logs the URL, and what HTTP appends NATS reads', async () => {
    const port = await freePort()
    const p = spawnProcessor(env(port))
    procs.push(p)
    await p.ready(60_000)
    expect(p.output()).toContain(`HTTP gateway on http://127.0.0.1:${port}`)
    const res = await fetch(`http://127.0.0.1:${port}/v1/tenants/acme/streams/e2e-1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ type: 'e2e.done', payload: { ok: true } }] }) })
    expect(res.status).toBe(201)
    const nc = await connect({ servers: server.url })
    const h = headers()
    h.set('Content-Type', 'application/json')
    const page = JSON.parse(new TextDecoder().decode((await nc.request('allsource.read.acme.e2e-1', '{}', { headers: h, timeout: 5_000 })).data)) as { version: number }
    await nc.close()
    expect(page.version).toBe(1)
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200)
  })

  it('a taken port is a warning naming ALLSOURCE_HTTP_PORT, and NATS is served anyway', async () => {
    const port = await freePort()
    blocker = createServer()
    await new Promise<void>((r) => blocker?.listen(port, '127.0.0.1', () => r()))
    const p = spawnProcessor(env(port))
    procs.push(p)
    await p.ready(60_000)
    // A warning line, in JSON (the child's stdout is not a terminal) or compact form.
    expect(p.output()).toMatch(new RegExp(`"level":"warn".*HTTP gateway not started: 127\\.0\\.0\\.1:${port} is taken; set ALLSOURCE_HTTP_PORT|warning: HTTP gateway not started: 127\\.0\\.0\\.1:${port} is taken`))
    const nc = await connect({ servers: server.url })
    const h = headers()
    h.set('Content-Type', 'application/json')
    const reply = JSON.parse(new TextDecoder().decode((await nc.request('allsource.append.acme.e2e-2', JSON.stringify({ events: [{ type: 'x', payload: 1 }] }), { headers: h, timeout: 5_000 })).data)) as { toVersion: number }
    await nc.close()
    expect(reply.toVersion).toBe(1)
  })
})
