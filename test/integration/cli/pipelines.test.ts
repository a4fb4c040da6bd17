/**
 * `allsource pipelines …` as a user types it (the compiled CLI, built once by the tier's global setup; no terminal, CI=true)
 * against a real nats-server in auth mode and a processor: the admin subjects' replies, typed
 * errors with their code and a non-zero exit, usage errors, roles and tenants.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AuthGatewayFixture, seedTenantsAndKeys, startAuthGatewayFixture } from '../../support/authGatewayFixture.js'
import { CLEAN_CLI_ENV, type CliRun, runNode } from '../../support/cliRun.js'
import { root } from '../../support/processor.js'

const definition = {
  name: 'big-orders',
  stages: [{ filter: 'type = "order.placed"' }, { reduce: { key: 'payload.customer', aggregates: { n: { count: true } } } }],
  sink: { readModel: {} },
}

describe('allsource pipelines (auth on)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-cli-pl-'))
  const defFile = join(dir, 'def.json')
  let f: AuthGatewayFixture
  const keys: Record<string, string> = {}

  /** Runs the CLI (the sources) with a clean environment: only the credential the test gives. */
  const cli = (args: readonly string[], env: Record<string, string>, input?: string): Promise<CliRun> =>
    runNode([resolve(root, 'dist/src/main/cli.js'), ...args], { ...process.env, ...CLEAN_CLI_ENV, NATS_URL: f.server.url, ALLSOURCE_CONFIG_DIR: join(dir, 'config'), ALLSOURCE_DATA_DIR: join(dir, 'data'), ...env }, input)
  const as = (who: string, tenant = 'acme') => ({ ALLSOURCE_TOKEN: keys[who] ?? '', ALLSOURCE_TENANT: tenant })
  const operator = () => ({ ALLSOURCE_BOOTSTRAP_KEY: f.operatorKey })
  const json = (r: CliRun): Record<string, unknown> => JSON.parse(r.out) as Record<string, unknown>

  beforeAll(async () => {
    f = await startAuthGatewayFixture()
    Object.assign(keys, await seedTenantsAndKeys(f, ['acme', 'globex'], [['dev', 'acme', 'developer'], ['reader', 'acme', 'reader']]))
    writeFileSync(defFile, JSON.stringify(definition))
  }, 120_000)
  afterAll(async () => {
    await f?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('usage errors exit 2 and say what is missing', async () => {
    const none = await cli(['pipelines', 'create'], as('dev'))
    expect([none.code, none.err]).toEqual([2, expect.stringContaining('give the definition once')])
    const both = await cli(['pipelines', 'create', '{}', '--file', defFile], as('dev'))
    expect(both.code).toBe(2)
    const badOffset = await cli(['pipelines', 'rebuild', 'x', '--from-offset', 'many'], as('dev'))
    expect([badOffset.code, badOffset.err]).toEqual([2, expect.stringMatching(/non-negative integer/)])
    const noTenant = await cli(['pipelines', 'list'], operator())
    expect([noTenant.code, noTenant.err]).toEqual([2, expect.stringContaining('which tenant?')])
    const missingFile = await cli(['pipelines', 'create', '--file', join(dir, 'nope.json')], as('dev'))
    expect([missingFile.code, missingFile.err]).toEqual([1, expect.stringContaining('cannot read')])
    writeFileSync(join(dir, 'bad.json'), '{ not json')
    const badFile = await cli(['pipelines', 'create', '--file', join(dir, 'bad.json')], as('dev'))
    expect([badFile.code, badFile.err]).toEqual([2, expect.stringContaining('bad.json is not valid JSON')])
  }, 60_000)

  it('a developer creates from a file, lists, gets, pauses, resumes, rebuilds and deletes', async () => {
    const created = await cli(['pipelines', 'create', '--file', defFile, '--json'], as('dev'))
    expect(created.code, created.err).toBe(0)
    expect(json(created)).toMatchObject({ name: 'big-orders', projection: 'acme--big-orders', version: 1, definition })
    const listed = await cli(['pipelines', 'list'], as('dev'))
    expect(listed.code, listed.err).toBe(0)
    expect(listed.out).toMatch(/big-orders\s.*acme--big-orders/)
    const got = await cli(['pipelines', 'get', 'big-orders', '--json'], as('dev'))
    expect(json(got)).toMatchObject({ name: 'big-orders', definition, createdAt: expect.any(String) })
    const human = await cli(['pipelines', 'get', 'big-orders'], as('dev'))
    expect(human.out).toContain('"payload.customer"')
    expect((await cli(['pipelines', 'pause', 'big-orders'], as('dev'))).out).toContain('paused big-orders')
    expect(json(await cli(['pipelines', 'resume', 'big-orders', '--json'], as('dev')))).toMatchObject({ name: 'big-orders', control: { paused: false } })
    const rebuilt = await cli(['--json', 'pipelines', 'rebuild', 'big-orders', '--from-offset', '0'], as('dev'))
    expect(json(rebuilt)).toMatchObject({ name: 'big-orders', control: { rebuild: { fromOffset: 0 } } })
    // The operator reaches the tenant through --tenant.
    expect(json(await cli(['pipelines', 'list', '--tenant', 'acme', '--json'], operator()))).toMatchObject({ pipelines: [{ name: 'big-orders' }] })
    expect(json(await cli(['pipelines', 'delete', 'big-orders', '--json'], as('dev')))).toEqual({ name: 'big-orders', deleted: true })
    const gone = await cli(['pipelines', 'get', 'big-orders', '--json'], as('dev'))
    expect(gone.code).toBe(1)
    expect(gone.err).toContain('NOT_FOUND: no pipeline "big-orders"')
    expect(json(gone)).toMatchObject({ error: { code: 'NOT_FOUND' } })
  }, 120_000)

  it('takes the definition from stdin; a bad one is the contract code with its path, exit 1', async () => {
    const fromStdin = await cli(['pipelines', 'create', '-', '--json'], as('dev'), JSON.stringify({ ...definition, name: 'from-stdin' }))
    expect([fromStdin.code, json(fromStdin).name]).toEqual([0, 'from-stdin'])
    const bad = await cli(['pipelines', 'create', JSON.stringify({ ...definition, stages: [{ reduce: { aggregates: { n: { count: 1 } } } }] })], as('dev'))
    expect(bad.code).toBe(1)
    expect(bad.err).toContain('BAD_REQUEST:')
    expect(bad.err).toContain('pipeline.stages[0].reduce.aggregates.n.count')
    const badName = await cli(['pipelines', 'pause', 'a--b', '--json'], as('dev'))
    expect([badName.code, json(badName)]).toEqual([1, { error: expect.objectContaining({ code: 'INVALID_ID' }) }])
    expect((await cli(['pipelines', 'delete', 'from-stdin'], as('dev'))).code).toBe(0)
  }, 60_000)

  it("a reader is refused, and a tenant's key cannot reach another tenant's pipelines", async () => {
    const reader = await cli(['pipelines', 'list', '--json'], as('reader'))
    expect(reader.code).toBe(1)
    expect(json(reader)).toMatchObject({ error: { code: 'FORBIDDEN' } })
    expect(reader.err).toContain('refused this request for your credential')
    const crossing = await cli(['pipelines', 'create', '--file', defFile, '--tenant', 'globex'], as('dev'))
    expect(crossing.code).toBe(1)
    expect(crossing.err).not.toContain(keys.dev)
    expect(json(await cli(['pipelines', 'list', '--tenant', 'globex', '--json'], operator()))).toEqual({ pipelines: [] })
  }, 60_000)
})
