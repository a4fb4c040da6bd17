import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, headers } from '@nats-io/transport-node'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../../src/main/natsServer/launchNatsServer.js'
import { spawnProcessor } from '../support/processor.js'
import { alive } from '../support/alive.js'


describe('npm start (literally: build, then the compiled processor)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-e2e-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('starts the embedded nats-server when none answers, serves a JSON append, and stops cleanly', async () => {
    const [probePort, port] = [await freePort(), await freePort()]
    const p = spawnProcessor({
      NATS_URL: '',
      ALLSOURCE_PROBE_URL: `127.0.0.1:${probePort}`,
      ALLSOURCE_EMBEDDED_PORT: String(port),
      ALLSOURCE_DATA_DIR: dir,
    }, { npmStart: true })
    await p.ready(60_000)
    expect(p.output()).toMatch(/embedded nats-server, pid \d+/)
    const pid = Number(/embedded nats-server, pid (\d+)/.exec(p.output())?.[1])

    const nc = await connect({ servers: `127.0.0.1:${port}` })
    const h = headers()
    h.set('Content-Type', 'application/json')
    const body = { events: [{ type: 'user.created', payload: { name: 'Ann' } }], expectedVersion: 'no_stream' }
    const reply = await nc.request('allsource.append.acme.user-1', JSON.stringify(body), { headers: h, timeout: 5_000 })
    expect(JSON.parse(new TextDecoder().decode(reply.data))).toMatchObject({
      tenant: 'acme',
      stream: 'user-1',
      offset: 1,
      fromVersion: 1,
      toVersion: 1,
    })
    await nc.close()

    // npm passes SIGTERM on to the processor (the script `exec`s node) and may exit before it has drained.
    p.proc.kill('SIGTERM')
    expect([0, 'SIGTERM']).toContain(await p.exited())
    for (let i = 0; i < 300 && !/allsource stopped/.test(p.output()); i++) await new Promise((r) => setTimeout(r, 100))
    expect(p.output()).toMatch(/allsource stopped/)
    expect(alive(pid)).toBe(false)
  })
})
