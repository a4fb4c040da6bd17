import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { jetstream } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOrCreateAuthMaterial } from '../../src/main/auth/authMaterial.js'
import { freePort } from '../../src/main/natsServer/launchNatsServer.js'
import { type AuthTestServer, startAuthServer } from '../support/authServer.js'
import { cleanUp } from '../support/cleanUp.js'
import { CLEAN_CLI_ENV, type CliRun, runNode } from '../support/cliRun.js'
import { startNatsServer, type TestNatsServer } from '../support/natsServer.js'
import { root } from '../support/processor.js'

/** The built CLI as a user types it: `node dist/src/main/cli.js …`, no terminal, CI=true. */
type Run = CliRun

const cliPath = resolve(root, 'dist/src/main/cli.js')

describe('the allsource CLI (built) against a processor in auth mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-cli-'))
  const dataDir = join(dir, 'data')
  const configDir = join(dir, 'config')
  let server: AuthTestServer | undefined
  let plain: TestNatsServer | undefined
  let processor: ChildProcess | undefined
  let processorOut = ''
  let url = ''
  let key = ''

  /** Runs the CLI with a clean environment: no credential but what the test gives. */
  const cli = (args: readonly string[], env: Record<string, string> = {}, input?: string): Promise<Run> =>
    runNode([cliPath, ...args], { ...process.env, ...CLEAN_CLI_ENV, NATS_URL: url, ALLSOURCE_DATA_DIR: dataDir, ALLSOURCE_CONFIG_DIR: configDir, ...env }, input)
  const json = (r: Run): Record<string, unknown> => JSON.parse(r.out) as Record<string, unknown>
  const lines = (r: Run): Record<string, unknown>[] => r.out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
  const asAcme = () => ({ ALLSOURCE_TOKEN: key, ALLSOURCE_TENANT: 'acme' })

  beforeAll(async () => {
    // dist/ is compiled once for the tier by the global setup (test/support/buildOnce.ts).
    const material = loadOrCreateAuthMaterial(dataDir)
    server = await startAuthServer(material)
    url = server.url
    // The processor, started by the CLI itself (`allsource serve`).
    processor = spawn(process.execPath, [cliPath, 'serve'], {
      cwd: root,
      env: { ...process.env, NATS_URL: url, ALLSOURCE_AUTH: 'on', ALLSOURCE_DATA_DIR: dataDir, ALLSOURCE_HTTP_PORT: '0', ALLSOURCE_BOOTSTRAP_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    processor.stdout?.on('data', (d: Buffer) => (processorOut += d.toString()))
    processor.stderr?.on('data', (d: Buffer) => (processorOut += d.toString()))
    await new Promise<void>((res, rej) => {
      const tick = setInterval(() => {
        if (/allsource ready|"msg":"ready"/.test(processorOut)) {
          clearInterval(tick)
          res()
        } else if (processor?.exitCode !== null) {
          clearInterval(tick)
          rej(new Error(`the processor exited:\n${processorOut}`))
        }
      }, 50)
    })
  }, 180_000)

  afterAll(() =>
    cleanUp(
      async () => {
        if (processor !== undefined && processor.exitCode === null) {
          const exited = new Promise((r) => processor?.once('exit', r))
          processor.kill('SIGTERM')
          await exited
        }
      },
      () => server?.stop(),
      () => plain?.stop(),
      () => process.env.CLI_TEST_LOG !== undefined && writeFileSync(process.env.CLI_TEST_LOG, processorOut),
      () => rmSync(dir, { recursive: true, force: true }),
    ),
  )

  it('answers usage errors with exit 2 and the usage, and bad input with a typed error', async () => {
    const unknown = await cli(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.err).toMatch(/unknown command 'frobnicate'/)
    const missing = await cli(['append', 'acme'])
    expect(missing.code).toBe(2)
    expect(missing.err).toMatch(/missing required argument 'stream'/)
    expect(missing.err).toContain('Usage: allsource append [options] <tenant> <stream> <events>')
    const badJson = await cli(['append', 'acme', 's-1', '{not json'])
    expect(badJson.code).toBe(2)
    expect(badJson.err).toMatch(/not valid JSON/)
    const badInt = await cli(['read', 'acme', 's-1', '--limit', 'many'])
    expect(badInt.code).toBe(2)
    expect(badInt.err).toMatch(/non-negative integer/)
  })

  it('says where no NATS server answers, and that no processor answers', async () => {
    const port = await freePort()
    const refused = await cli(['read', 'acme', 's-1', '--url', `127.0.0.1:${port}`])
    expect(refused.code).toBe(1)
    expect(refused.err).toContain(`no NATS server at 127.0.0.1:${port}: start the processor with \`npm start\``)
    plain = await startNatsServer()
    const idle = await cli(['read', 'acme', 's-1', '--json'], { NATS_URL: plain.url })
    expect(idle.code).toBe(1)
    expect(idle.err).toContain(`no processor answered on ${plain.url} (read): start one with \`npm start\``)
    expect(json(idle)).toMatchObject({ error: { code: 'UNAVAILABLE' } })
  })

  it('creates a tenant and a key with the operator key it finds in the data dir', async () => {
    const created = await cli(['tenants', 'create', 'acme', '--json'])
    expect(created.code, created.err).toBe(0)
    expect(json(created)).toMatchObject({ tenant: 'acme', status: 'active' })
    const listed = await cli(['tenants', 'list'])
    expect(listed.out).toMatch(/acme.*active/)
    const k = await cli(['keys', 'create', 'acme', 'developer', '--name', 'cli', '--json'])
    expect(k.code, k.err).toBe(0)
    key = String(json(k).key)
    expect(key).toMatch(/^as_/)
    const operatorKey = readFileSync(join(dataDir, 'auth', 'operator.key'), 'utf8').trim()
    expect(processorOut).not.toContain(operatorKey)
  })

  it('refuses bad credentials with what to do next', async () => {
    const bad = await cli(['read', 'acme', 's-1'], { ALLSOURCE_TOKEN: 'as_AAAAAAAAAAAA_notarealsecret' })
    expect(bad.code).toBe(1)
    expect(bad.err).toContain('the server refused the credentials (ALLSOURCE_TOKEN): check ALLSOURCE_TOKEN')
    expect(bad.err).toContain('allsource login')
    expect(bad.err).not.toContain('notarealsecret')
    const badFlag = await cli(['--token', 'as_BBBBBBBBBBBB_wrong', '--tenant', 'acme', 'read', 'acme', 's-1'])
    expect(badFlag.code).toBe(1)
    expect(badFlag.err).toContain('(--token)')
  })

  it('appends, reads and queries with a tenant key; explains conflicts and other tenants', async () => {
    const a = await cli(['append', 'acme', 'order-1', '[{"type":"order.placed","payload":{"total":42}}]', '--expected-version', 'no_stream', '--json'], asAcme())
    expect(a.code, a.err).toBe(0)
    expect(json(a)).toMatchObject({ tenant: 'acme', stream: 'order-1', fromVersion: 1, toVersion: 1 })
    const stale = await cli(['append', 'acme', 'order-1', '{"type":"order.paid","payload":{}}', '--expected-version', '0', '--json'], asAcme())
    expect(stale.code).toBe(1)
    expect(json(stale)).toMatchObject({ error: { code: 'WRONG_EXPECTED_VERSION', expected: 0, actual: 1 } })
    expect(stale.err).toContain('retry with --expected-version 1')
    const other = await cli(['append', 'globex', 'order-1', '{"type":"x","payload":{}}'], asAcme())
    expect(other.code).toBe(1)
    expect(other.err).toMatch(/refused this request for your credential.*Permissions Violation/)
    const piped = await cli(['append', 'acme', 'piped', '-', '--json'], asAcme(), '[{"type":"from.stdin","payload":{"ok":true}}]')
    expect(piped.code, piped.err).toBe(0)
    expect(json(piped)).toMatchObject({ stream: 'piped', toVersion: 1 })
    const read = await cli(['read', 'acme', 'order-1'], asAcme())
    expect(read.code, read.err).toBe(0)
    expect(read.out).toMatch(/order\.placed.*\{"total":42\}/)
    const q = await cli(['query', 'acme', '--type', 'order.placed', '--json'], asAcme())
    expect(json(q).events).toMatchObject([{ stream: 'order-1', type: 'order.placed' }])
    // The query language, text and JSON forms (docs/querying.md).
    const text = await cli(['query', 'acme', '--where', 'payload.total > 40 and type = "order.placed"', '--json'], asAcme())
    expect(text.code, text.err).toBe(0)
    expect(json(text).events).toMatchObject([{ stream: 'order-1', payload: { total: 42 } }])
    const none = await cli(['query', 'acme', '--where', '{"gt":["payload.total",42]}', '--json'], asAcme())
    expect(none.code, none.err).toBe(0)
    expect(json(none).events).toEqual([])
    const bad = await cli(['query', 'acme', '--where', 'payload.total >', '--json'], asAcme())
    expect(bad.code).toBe(1)
    expect(json(bad)).toMatchObject({ error: { code: 'BAD_REQUEST' } })
  })

  it('explains an unknown tenant and a quota with what to do next', async () => {
    const unknown = await cli(['append', 'nobody', 's-1', '{"type":"a","payload":{}}', '--json'])
    expect(unknown.code).toBe(1)
    expect(json(unknown)).toMatchObject({ error: { code: 'TENANT_NOT_FOUND' } })
    expect(unknown.err).toContain('allsource tenants create')
    expect((await cli(['tenants', 'create', 'tiny', '--quotas', '{"eventsPerDay":2}'])).code).toBe(0)
    const tinyKey = String(json(await cli(['keys', 'create', 'tiny', 'service', '--json'])).key)
    const over = await cli(['append', 'tiny', 's-1', '[{"type":"a","payload":{}},{"type":"a","payload":{}},{"type":"a","payload":{}}]', '--json'], { ALLSOURCE_TOKEN: tinyKey, ALLSOURCE_TENANT: 'tiny' })
    expect(over.code).toBe(1)
    expect(json(over)).toMatchObject({ error: { code: 'QUOTA_EXCEEDED' } })
    expect(over.err).toMatch(/QUOTA_EXCEEDED[\s\S]*retry[\s\S]*higher tier/)
  })

  it('saves contexts (0600, secrets masked) and uses them after flags and env', async () => {
    const saved = await cli(['context', 'save', 'acme-dev', '--url', url, '--token', key, '--tenant', 'acme', '--select', '--json'])
    expect(saved.code, saved.err).toBe(0)
    expect(saved.out).not.toContain(key)
    expect(statSync(join(configDir, 'contexts', 'acme-dev.json')).mode & 0o777).toBe(0o600)
    const shown = await cli(['context', 'show'])
    expect(shown.out).toContain('acme-dev')
    expect(shown.out).not.toContain(key)
    // No NATS_URL, no token in the environment: the context's.
    const read = await cli(['read', 'acme', 'order-1', '--json'], { NATS_URL: '' })
    expect(read.code, read.err).toBe(0)
    expect(json(read)).toMatchObject({ version: 1 })
    // A flag wins over the context.
    const port = await freePort()
    expect((await cli(['read', 'acme', 'order-1', '--url', `127.0.0.1:${port}`], { NATS_URL: '' })).err).toContain('no NATS server at')
    const ls = await cli(['context', 'ls', '--json'])
    expect(JSON.parse(ls.out)).toMatchObject([{ name: 'acme-dev', current: true }])
    expect((await cli(['context', 'save', 'elsewhere', '--url', `127.0.0.1:${port}`])).code).toBe(0)
    expect((await cli(['context', 'use', 'elsewhere'])).code).toBe(0)
    expect((await cli(['read', 'acme', 'order-1'], { NATS_URL: '' })).err).toContain(`no NATS server at 127.0.0.1:${port}`)
    expect((await cli(['context', 'use', 'acme-dev'])).code).toBe(0)
    expect((await cli(['context', 'rm', 'elsewhere'])).code).toBe(0)
    expect((await cli(['context', 'use', 'nope'])).code).toBe(1)
    expect((await cli(['context', 'rm', 'acme-dev'])).code).toBe(0)
    expect(JSON.parse((await cli(['context', 'ls', '--json'])).out)).toEqual([])
  })

  it('imports NDJSON exactly once on a re-run, and refuses a bad file with its line number', async () => {
    const file = join(dir, 'events.ndjson')
    const rows = Array.from({ length: 250 }, (_, i) => JSON.stringify({ stream: `imp-${i % 3}`, type: 'imported', payload: { i } }))
    writeFileSync(file, `${rows.join('\n')}\n`)
    const first = await cli(['import', file, '--tenant', 'acme', '--batch', '40', '--json'])
    expect(first.code, first.err).toBe(0)
    expect(json(first)).toMatchObject({ events: 250, streams: 3, duplicates: 0 })
    const again = await cli(['import', file, '--tenant', 'acme', '--batch', '40', '--json'])
    expect(again.code, again.err).toBe(0)
    expect(json(again).duplicates).toBe(json(again).commits)
    const q = await cli(['query', 'acme', '--type', 'imported', '--json'])
    expect((json(q).events as unknown[]).length).toBe(250)
    const bad = join(dir, 'bad.ndjson')
    writeFileSync(bad, `${rows[0]}\n{"stream":"x y","type":"t","payload":{}}\nnot json\n`)
    const refused = await cli(['import', bad, '--tenant', 'acme'])
    expect(refused.code).toBe(1)
    expect(refused.err).toMatch(/line 2: stream must be/)
    expect(refused.err).toMatch(/line 3: not valid JSON/)
  })

  it('replays from an offset or a time as NDJSON, with a tenant key', async () => {
    const all = await cli(['replay', 'acme', '--from-offset', '1', '--json'], asAcme())
    expect(all.code, all.err).toBe(0)
    const events = lines(all)
    expect(events.length).toBe(252)
    expect(events[0]).toMatchObject({ tenant: 'acme', stream: 'order-1', offset: expect.any(Number) })
    const offsets = events.map((e) => e.offset as number)
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y))
    const later = await cli(['replay', 'acme', '--from-time', new Date(Date.now() + 3_600_000).toISOString(), '--json'], asAcme())
    expect(later.code, later.err).toBe(0)
    expect(lines(later)).toEqual([])
  })

  it('tails the log: prints events as they are appended until Ctrl-C', async () => {
    const child = spawn(process.execPath, [cliPath, 'tail', 'acme', '--json'], {
      cwd: root,
      env: { ...process.env, CI: 'true', NATS_URL: url, ALLSOURCE_CONFIG_DIR: configDir, ALLSOURCE_DATA_DIR: dataDir, ALLSOURCE_CONTEXT: '', ...asAcme() },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? -1)))
    try {
      for (let i = 0; i < 600 && !err.includes('following'); i++) await new Promise((r) => setTimeout(r, 50))
      for (const n of [1, 2]) expect((await cli(['append', 'acme', 'tailed', `{"type":"tick","payload":{"n":${n}}}`], asAcme())).code).toBe(0)
      for (let i = 0; i < 600 && out.split('\n').filter(Boolean).length < 2; i++) await new Promise((r) => setTimeout(r, 50))
      expect(out.split('\n').filter(Boolean).map((l) => JSON.parse(l))).toMatchObject([{ stream: 'tailed', payload: { n: 1 } }, { stream: 'tailed', payload: { n: 2 } }])
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited).toBe(0)
  })

  it('manages subscriptions, reads projection status, rebuilds with progress, lists dead letters, shows stats', async () => {
    const created = await cli(['subs', 'create', 'acme', 'billing', '--from', 'start', '--json'])
    expect(created.code, created.err).toBe(0)
    expect(json(created)).toMatchObject({ name: 'billing', acknowledged: 0 })
    expect(json(await cli(['subs', 'info', 'acme', 'billing', '--json'])).lag).toBeGreaterThan(0)
    expect((await cli(['subs', 'reset', 'acme', 'billing', '--to', 'end'])).code).toBe(0)
    expect((await cli(['subs', 'delete', 'acme', 'billing'])).code).toBe(0)
    const gone = await cli(['subs', 'info', 'acme', 'billing', '--json'])
    expect(gone.code).toBe(1)
    expect(json(gone)).toMatchObject({ error: { code: 'NOT_FOUND' } })

    // A tenant developer key manages its own subscriptions too (start, end or a time).
    const own = await cli(['subs', 'create', 'acme', 'own', '--from', 'start', '--json'], asAcme())
    expect(own.code, own.err).toBe(0)
    expect(json(await cli(['subs', 'info', 'acme', 'own', '--json'], asAcme()))).toMatchObject({ name: 'own', tenant: 'acme' })
    expect((await cli(['subs', 'reset', 'acme', 'own', '--to', new Date().toISOString()], asAcme())).code).toBe(0)
    expect((await cli(['subs', 'delete', 'acme', 'own'], asAcme())).code).toBe(0)

    const status = await cli(['proj', 'status', '--json'])
    expect(status.code, status.err).toBe(0)
    expect(lines(status).map((p) => p.name)).toEqual(expect.arrayContaining(['entity-state', 'event-counter']))
    expect((await cli(['proj', 'status'])).out).toMatch(/event-counter/)
    const rebuilt = await cli(['proj', 'rebuild', 'event-counter', '--json'])
    expect(rebuilt.code, rebuilt.err).toBe(0)
    expect(json(rebuilt)).toMatchObject({ name: 'event-counter', status: { state: 'live', lag: 0 } })
    const counted = await cli(['proj', 'get', 'acme', 'event-counter', 'imported', '--json'])
    expect(json(counted)).toMatchObject({ state: { count: 250 } })

    // A message without a type is dead-lettered; `dlq list` shows it.
    const op = await connect({ servers: url, token: readFileSync(join(dataDir, 'auth', 'operator.key'), 'utf8').trim() })
    await jetstream(op).publish('allsource.ingest.acme.broken', JSON.stringify({ payload: {} }))
    await op.close()
    let dead: Record<string, unknown>[] = []
    for (let i = 0; i < 200 && dead.length === 0; i++) {
      dead = lines(await cli(['dlq', 'list', '--tenant', 'acme', '--json']))
      if (dead.length === 0) await new Promise((r) => setTimeout(r, 100))
    }
    expect(dead).toMatchObject([{ ingestSubject: 'allsource.ingest.acme.broken' }])

    const stats = await cli(['stats', 'acme', '--json'])
    expect(stats.code, stats.err).toBe(0)
    expect(json(stats)).toMatchObject({ tenant: 'acme' })
    expect((json(stats).processors as unknown[]).length).toBeGreaterThan(0)
  }, 120_000)

  it('logs in as a user: the tokens go to the context (0600), later commands use them; a wrong password is refused', async () => {
    const user = await cli(['users', 'create', 'acme', 'ann', 'developer', '--password-stdin', '--json'], {}, 'correct horse battery\n')
    expect(user.code, user.err).toBe(0)
    expect(user.out).not.toContain('correct horse')
    const login = await cli(['login', '--tenant', 'acme', '--user', 'ann', '--password-stdin', '--json'], {}, 'correct horse battery\n')
    expect(login.code, login.err).toBe(0)
    expect(json(login)).toMatchObject({ context: 'default', tenant: 'acme', user: 'ann' })
    const file = join(configDir, 'contexts', 'default.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>
    expect(saved.accessToken).toMatch(/^ey/)
    expect(login.out + login.err).not.toContain(saved.accessToken)
    const read = await cli(['read', 'acme', 'order-1', '--json'])
    expect(read.code, read.err).toBe(0)
    expect(json(read)).toMatchObject({ version: 1 })
    // Less than 10 minutes left (as the CLI sees it): the next command refreshes the login.
    writeFileSync(file, JSON.stringify({ ...saved, expiresAt: new Date(Date.now() + 60_000).toISOString() }))
    expect((await cli(['read', 'acme', 'order-1', '--json'])).code).toBe(0)
    const refreshed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>
    expect(refreshed.accessToken).not.toBe(saved.accessToken)
    expect(refreshed.refreshToken).not.toBe(saved.refreshToken)
    expect(Date.parse(refreshed.expiresAt ?? '')).toBeGreaterThan(Date.now() + 60_000)
    expect((await cli(['read', 'acme', 'order-1', '--json'])).code).toBe(0)
    const wrong = await cli(['login', '--tenant', 'acme', '--user', 'ann', '--password-stdin'], {}, 'wrong\n')
    expect(wrong.code).toBe(1)
    expect(wrong.err).toContain('refused acme/ann')
    expect(wrong.err).not.toContain('wrong\n')
  })
})
