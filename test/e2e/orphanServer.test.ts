import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, headers } from '@nats-io/transport-node'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../../src/main/natsServer/launchNatsServer.js'
import { alive } from '../support/alive.js'
import { spawnProcessor } from '../support/processor.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('an embedded nats-server orphaned by a SIGKILLed processor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-e2e-orphan-'))
  const servers: number[] = []
  afterAll(() => {
    for (const pid of servers) if (alive(pid)) process.kill(pid, 'SIGKILL') // only servers this test started
    rmSync(dir, { recursive: true, force: true })
  })

  it('is stopped by the next start on the same data dir, which says so and runs its own server', async () => {
    const [probePort, port] = [await freePort(), await freePort()]
    const env = { NATS_URL: '', ALLSOURCE_AUTH: 'off', ALLSOURCE_PROBE_URL: `127.0.0.1:${probePort}`, ALLSOURCE_EMBEDDED_PORT: String(port), ALLSOURCE_DATA_DIR: dir }
    const serverPid = (out: string) => Number(/embedded nats-server, pid (\d+)/.exec(out)?.[1])

    const first = spawnProcessor(env)
    await first.ready(30_000)
    const orphan = serverPid(first.output())
    servers.push(orphan)
    const lock = JSON.parse(readFileSync(join(dir, 'nats-server.lock.json'), 'utf8')) as { pid: number; port: number; processorPid: number }
    expect(lock).toMatchObject({ pid: orphan, port, processorPid: first.proc.pid })
    first.proc.kill('SIGKILL')
    await first.exited()
    await sleep(200)
    expect(alive(orphan)).toBe(true) // the server outlives its processor

    const second = spawnProcessor(env)
    await second.ready(30_000)
    const own = serverPid(second.output())
    servers.push(own)
    expect(second.output()).toMatch(new RegExp(`stopping the embedded nats-server left running by processor pid ${first.proc.pid}, which is gone \\(pid ${orphan}`))
    expect(second.output()).toMatch(new RegExp(`stopped the orphaned nats-server pid ${orphan}`))
    expect(alive(orphan)).toBe(false)
    expect(own).not.toBe(orphan)
    expect(alive(own)).toBe(true)

    // It serves through its own server, on the same port and store.
    const nc = await connect({ servers: `127.0.0.1:${port}` })
    const h = headers()
    h.set('Content-Type', 'application/json')
    const reply = await nc.request('allsource.append.acme.orphan-1', JSON.stringify({ events: [{ type: 'x', payload: {} }] }), { headers: h, timeout: 5_000 })
    expect(new TextDecoder().decode(reply.data)).toMatch(/"offset"/)
    await nc.close()

    second.proc.kill('SIGTERM')
    expect(await second.exited()).toBe(0)
    expect(second.output()).toMatch(/allsource stopped|"msg":"stopped"/)
    for (let i = 0; i < 100 && alive(own); i++) await sleep(50)
    expect(alive(own)).toBe(false)
    expect(existsSync(join(dir, 'nats-server.lock.json'))).toBe(false)
  })
})
