import { jetstreamManager } from '@nats-io/jetstream'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPinoLogger } from '../../../src/adapters/logging/pinoLogger.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { cleanUp } from '../../support/cleanUp.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'

const decoder = new TextDecoder()

describe('log lines about requests carry their request ids', () => {
  let server: TestNatsServer | undefined
  let nc: NatsConnection | undefined
  let app: AllSource | undefined
  const lines: string[] = []

  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({ servers: server.url })
    const logger = createPinoLogger({ format: 'json', destination: { write: (l: string) => lines.push(l) } })
    // A mailbox of one: a burst at one stream gets UNAVAILABLE ("stream is busy") answers.
    app = await createAllSource({ nc, logger, maxMailbox: 1, snapshotEvery: 0 })
    await app.serve()
  })
  afterAll(() =>
    cleanUp(
      () => app?.close(),
      () => nc?.close(),
      () => server?.stop(),
    ),
  )

  it('a request answered UNAVAILABLE is logged as a warning with its request id', async () => {
    const c = nc as NatsConnection
    const replies = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const h = headers()
        h.set('Content-Type', 'application/json')
        h.set('AllSource-Request-Id', `burst-${i}`)
        const m = await c.request('allsource.append.acme.hot', JSON.stringify({ events: [{ type: 'x', payload: { i } }] }), { headers: h, timeout: 10_000 })
        return { id: m.headers?.get('AllSource-Request-Id'), error: (JSON.parse(decoder.decode(m.data)) as { error?: { code: string } }).error?.code }
      }),
    )
    const unavailable = replies.filter((r) => r.error === 'UNAVAILABLE').map((r) => r.id)
    expect(unavailable.length).toBeGreaterThan(1)
    const warnings = lines.map((l) => JSON.parse(l) as { level: string; msg: string; requestId?: string; code?: string }).filter((e) => e.level === 'warn')
    expect(warnings.length).toBeGreaterThan(0)
    for (const w of warnings) {
      expect(w.code).toBe('UNAVAILABLE')
      expect(unavailable).toContain(w.requestId)
      expect(w.msg).toMatch(/^append answered UNAVAILABLE: stream is busy/)
    }
  })

  it("tracing off: the caller's traceparent passes through unchanged into the commit", async () => {
    const traceparent = `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01`
    const r = await (app as AllSource).append('acme', 'quiet', [{ type: 'x', payload: {} }], { context: { requestId: 'req-off-1', traceparent } })
    if (r._tag === 'Left') throw new Error(JSON.stringify(r.left))
    const m = await (await jetstreamManager(nc as NatsConnection)).direct.getMessage('ALLSOURCE_EVENTS', { seq: r.right.offset })
    expect(m?.header.get('traceparent')).toBe(traceparent)
    expect(m?.header.get('AllSource-Request-Id')).toBe('req-off-1')
  })
})
