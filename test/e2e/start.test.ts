import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { connect, headers } from '@nats-io/transport-node'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../../src/main/natsServer/launchNatsServer.js'
import { root, spawnProcessor } from '../support/processor.js'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { alive } from '../support/alive.js'
import { tenantConnectOptions } from '../../src/adapters/nats/auth/natsGrants.js'


describe('npm start (literally: build, then the compiled processor)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-e2e-'))
  /** What this test started (the processor; it started the embedded server), stopped here whatever happened to the test, a timeout included. */
  const started: { processor?: ReturnType<typeof spawnProcessor>; server?: number } = {}
  afterAll(async () => {
    const p = started.processor
    if (p !== undefined && p.proc.exitCode === null && p.proc.signalCode === null) {
      p.proc.kill('SIGTERM')
      const gone = await Promise.race([p.exited().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))])
      if (!gone) p.proc.kill('SIGKILL')
    }
    // The processor stops its embedded server on SIGTERM; one left behind (the processor killed) is stopped by its PID.
    const server = started.server ?? Number(/embedded nats-server, pid (\d+)/.exec(p?.output() ?? '')?.[1] ?? 0)
    if (server > 0 && alive(server)) process.kill(server, 'SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  })

  it('starts the embedded nats-server with auth on when none answers, serves the README tour, and stops cleanly', async () => {
    const [probePort, port] = [await freePort(), await freePort()]
    const p = spawnProcessor({
      NATS_URL: '',
      ALLSOURCE_PROBE_URL: `127.0.0.1:${probePort}`,
      ALLSOURCE_EMBEDDED_PORT: String(port),
      ALLSOURCE_DATA_DIR: dir,
      ALLSOURCE_HTTP_PORT: '0',
    }, { npmStart: true })
    started.processor = p
    let pid = 0
    try {
      await p.ready(60_000)
      expect(p.output()).toMatch(/embedded nats-server, pid \d+/)
      pid = Number(/embedded nats-server, pid (\d+)/.exec(p.output())?.[1])
      started.server = pid

      expect(p.output()).toMatch(/auth on: the operator key is in .*operator\.key \(mode 0600, created now\)/)
      const keyFile = join(dir, 'auth', 'operator.key')
      expect(statSync(keyFile).mode & 0o777).toBe(0o600)
      const operatorKey = readFileSync(keyFile, 'utf8').trim()
      expect(p.output()).not.toContain(operatorKey)
      // No credential, no connection.
      await expect(connect({ servers: `127.0.0.1:${port}`, reconnect: false })).rejects.toThrow(/Authorization Violation/)

      // The operator creates the tenant and a key (the CLI's requests); the tenant appends in JSON.
      const h = headers()
      h.set('Content-Type', 'application/json')
      const json = (m: { data: Uint8Array }) => JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>
      const op = await connect({ servers: `127.0.0.1:${port}`, token: operatorKey, reconnect: false })
      expect(json(await op.request('allsource.admin.tenants.create', JSON.stringify({ tenant: 'acme' }), { headers: h, timeout: 5_000 }))).toMatchObject({ tenant: 'acme', status: 'active' })
      const created = json(await op.request('allsource.admin.acme.keys.create', JSON.stringify({ role: 'developer' }), { headers: h, timeout: 5_000, noMux: true, reply: `_INBOX.acme._op.${Date.now()}` }))
      await op.close()
      const nc = await connect({ servers: `127.0.0.1:${port}`, ...tenantConnectOptions('acme', String(created.key)) })
      const body = { events: [{ type: 'user.created', payload: { name: 'Ann' } }], expectedVersion: 'no_stream' }
      const reply = await nc.request('allsource.append.acme.user-1', JSON.stringify(body), { headers: h, timeout: 5_000 })
      await expect(nc.request('allsource.append.globex.user-1', JSON.stringify(body), { headers: h, timeout: 5_000 })).rejects.toThrow(/Permissions Violation/)
      expect(json(reply)).toMatchObject({
        tenant: 'acme',
        stream: 'user-1',
        offset: 1,
        fromVersion: 1,
        toVersion: 1,
      })
      await nc.close()

      // The CLI finds the operator key in the data dir by itself.
      const cli = async (...args: string[]) =>
        promisify(execFile)(process.execPath, [resolve(root, 'dist/src/main/cli.js'), ...args, '--json'], {
          cwd: root,
          env: { ...process.env, NATS_URL: `127.0.0.1:${port}`, ALLSOURCE_DATA_DIR: dir, ALLSOURCE_CONFIG_DIR: join(dir, 'cli-config'), ALLSOURCE_CONTEXT: '', ALLSOURCE_TOKEN: '', ALLSOURCE_TENANT: '', ALLSOURCE_BOOTSTRAP_KEY: '' },
        })
      expect(JSON.parse((await cli('tenants', 'create', 'globex')).stdout)).toMatchObject({ tenant: 'globex', status: 'active' })
      expect(JSON.parse((await cli('append', 'globex', 'order-1', '[{"type":"order.placed","payload":{"total":42}}]')).stdout)).toMatchObject({ tenant: 'globex', offset: 2 })
      expect(JSON.parse((await cli('keys', 'list', 'acme')).stdout).keys).toHaveLength(1)
      expect(JSON.parse((await cli('read', 'globex', 'order-1')).stdout)).toMatchObject({ version: 1, events: [{ type: 'order.placed', payload: { total: 42 } }] })
      expect(JSON.parse((await cli('query', 'globex', '--type', 'order.placed')).stdout).events).toHaveLength(1)
    } catch (e) {
      // Never leave the processor (and its embedded server) running after a failure.
      p.proc.kill('SIGTERM')
      await p.exited()
      throw e
    }

    // npm passes SIGTERM on to the processor (the script `exec`s node) and may exit before it has drained.
    p.proc.kill('SIGTERM')
    expect([0, 'SIGTERM']).toContain(await p.exited())
    for (let i = 0; i < 300 && !/allsource stopped|"msg":"stopped"/.test(p.output()); i++) await new Promise((r) => setTimeout(r, 100))
    expect(p.output()).toMatch(/allsource stopped|"msg":"stopped"/)
    expect(alive(pid)).toBe(false)
    // Both stopped by themselves: nothing for afterAll to stop (their PIDs may be reused by now).
    started.processor = undefined
    started.server = undefined
  })
})
