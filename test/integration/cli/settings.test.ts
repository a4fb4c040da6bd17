import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { contextStore, masked } from '../../../src/main/cli/contexts.js'
import { CliError } from '../../../src/main/cli/output.js'
import { resolveSettings } from '../../../src/main/cli/settings.js'

const KEY = `as_${'A'.repeat(12)}_${'s'.repeat(43)}_abcdef`
const OP = `as_${'O'.repeat(12)}_${'o'.repeat(43)}_abcdef`

describe('CLI settings: flags, then env, then the context, then the defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-settings-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const dataDir = join(dir, 'data')
  mkdirSync(join(dataDir, 'auth'), { recursive: true })
  writeFileSync(join(dataDir, 'auth', 'operator.key'), `${OP}\n`)
  const base = { ALLSOURCE_CONFIG_DIR: join(dir, 'config'), ALLSOURCE_DATA_DIR: dataDir }

  it('defaults to 127.0.0.1:4222 and the data dir operator key; ALLSOURCE_BOOTSTRAP_KEY before the file', () => {
    const s = resolveSettings({}, base)
    expect(s.url).toBe('127.0.0.1:4222')
    expect(s.credential).toMatchObject({ kind: 'operator', token: OP })
    expect(resolveSettings({}, { ...base, ALLSOURCE_BOOTSTRAP_KEY: KEY }).credential).toMatchObject({ kind: 'operator', token: KEY, from: 'ALLSOURCE_BOOTSTRAP_KEY' })
    // A tenant with the fallback key is still the operator (the key is the operator's).
    expect(resolveSettings({}, { ...base, ALLSOURCE_TENANT: 'acme' }).credential.kind).toBe('operator')
  })

  it('takes the selected context over the defaults, env over the context, flags over env', () => {
    const store = contextStore(join(dir, 'config'))
    store.save('dev', { url: 'nats://ctx:4222', token: KEY, tenant: 'acme' })
    store.select('dev')
    expect(statSync(store.fileOf('dev')).mode & 0o777).toBe(0o600)
    const ctx = resolveSettings({}, base)
    expect(ctx).toMatchObject({ url: 'nats://ctx:4222', tenant: 'acme', contextName: 'dev', credential: { kind: 'key', token: KEY, tenant: 'acme' } })
    const env = resolveSettings({}, { ...base, NATS_URL: 'nats://env:4222', ALLSOURCE_TOKEN: OP, ALLSOURCE_TENANT: 'globex' })
    expect(env).toMatchObject({ url: 'nats://env:4222', tenant: 'globex', credential: { kind: 'key', token: OP, tenant: 'globex', from: 'ALLSOURCE_TOKEN' } })
    const flags = resolveSettings({ url: 'nats://flag:4222', token: KEY, tenant: 'initech' }, { ...base, NATS_URL: 'nats://env:4222', ALLSOURCE_TOKEN: OP })
    expect(flags).toMatchObject({ url: 'nats://flag:4222', credential: { kind: 'key', token: KEY, tenant: 'initech', from: '--token' } })
    store.save('other', { url: 'nats://other:4222' })
    expect(resolveSettings({}, { ...base, ALLSOURCE_CONTEXT: 'other' }).url).toBe('nats://other:4222')
    expect(resolveSettings({ context: 'dev' }, { ...base, ALLSOURCE_CONTEXT: 'other' }).url).toBe('nats://ctx:4222')
    store.select(undefined)
  })

  it('uses a login access token while it is valid, and says to log in again once it expired', () => {
    const store = contextStore(join(dir, 'config'))
    const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c2VyOmFubiJ9.c2ln'
    store.save('ann', { tenant: 'acme', user: 'ann', accessToken: jwt, expiresAt: new Date(Date.now() + 60_000).toISOString(), token: KEY })
    expect(resolveSettings({ context: 'ann' }, base).credential).toMatchObject({ kind: 'access', token: jwt, tenant: 'acme' })
    store.save('ann', { tenant: 'acme', user: 'ann', accessToken: jwt, expiresAt: new Date(Date.now() - 1_000).toISOString() })
    expect(() => resolveSettings({ context: 'ann' }, base)).toThrow(/expired.*allsource login --tenant acme --user ann/)
  })

  it('names a missing or corrupt context and never prints a secret', () => {
    expect(() => resolveSettings({ context: 'missing' }, base)).toThrow(CliError)
    expect(() => resolveSettings({ context: '../etc' }, base)).toThrow(/not a context name/)
    const store = contextStore(join(dir, 'config'))
    writeFileSync(store.fileOf('broken'), `{"token": 42, "x": "${KEY}"`)
    let message = ''
    try {
      resolveSettings({ context: 'broken' }, base)
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toMatch(/broken\.json is not valid JSON/)
    expect(message).not.toContain(KEY)
    expect(masked(KEY)).not.toContain(KEY.slice(10))
  })
})
