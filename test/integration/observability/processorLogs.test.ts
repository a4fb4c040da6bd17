import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanUp } from '../../support/cleanUp.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'
import { type ProcessorProcess, spawnProcessor } from '../../support/processor.js'

const env = (server: TestNatsServer, more: Record<string, string>) => ({
  NATS_URL: server.url,
  ALLSOURCE_AUTH: 'auto', // an external server without auth: open, with a warning
  ALLSOURCE_EXAMPLE_MODULES: '0',
  ALLSOURCE_INGEST: '0',
  ALLSOURCE_PROJECTIONS: '0',
  ALLSOURCE_ID_INDEX: '0',
  ALLSOURCE_LOG_LEVEL: '',
  ALLSOURCE_LOG_FORMAT: '',
  ...more,
})

describe('the processor process logs JSON lines off a terminal, or compact lines when asked', () => {
  let server: TestNatsServer | undefined
  let nc: NatsConnection | undefined
  const procs: ProcessorProcess[] = []

  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({ servers: server.url })
  })
  afterAll(() =>
    cleanUp(
      ...procs.map((p) => async () => {
        if (p.proc.exitCode === null && p.proc.signalCode === null) {
          p.proc.kill('SIGTERM')
          await p.exited()
        }
      }),
      () => nc?.close(),
      () => server?.stop(),
    ),
  )

  it('JSON by default (a child is not a TTY): levels by name, stable messages, the request id in the reply', async () => {
    const p = spawnProcessor(env(server as TestNatsServer, { ALLSOURCE_LOG_LEVEL: 'debug' }))
    procs.push(p)
    await p.ready(120_000)
    const h = headers()
    h.set('Content-Type', 'application/json')
    h.set('AllSource-Request-Id', 'req-e2e-1')
    const reply = await (nc as NatsConnection).request('allsource.append.acme.order-1', JSON.stringify({ events: [{ type: 'x', payload: {} }] }), { headers: h, timeout: 10_000 })
    expect(reply.headers?.get('AllSource-Request-Id')).toBe('req-e2e-1')
    p.proc.kill('SIGTERM')
    await p.exited()
    const entries = p
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string; name: string; time: number })
    expect(entries.length).toBeGreaterThan(3)
    expect(entries.every((e) => e.name === 'allsource' && typeof e.time === 'number' && typeof e.level === 'string')).toBe(true)
    expect(entries.map((e) => e.msg)).toContain('ready')
    expect(entries.map((e) => e.msg)).toContain('stopped')
    expect(entries.some((e) => e.level === 'warn' && /running OPEN/.test(e.msg))).toBe(true)
  })

  it('ALLSOURCE_LOG_FORMAT=pretty: the compact line (`<time> allsource ready`)', async () => {
    const p = spawnProcessor(env(server as TestNatsServer, { ALLSOURCE_LOG_FORMAT: 'pretty' }))
    procs.push(p)
    await p.ready(120_000)
    p.proc.kill('SIGTERM')
    await p.exited()
    expect(p.output()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z allsource ready$/m)
    expect(p.output()).toMatch(/Z allsource stopped$/m)
    expect(p.output()).not.toMatch(/^\{/m)
  })
})
