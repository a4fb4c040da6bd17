import { describe, expect, it } from 'vitest'
import { atLeast, chromiumCandidates, findNatsServer, natsServerCandidates, npmCiReason, parseVersion, plan } from '../../../scripts/setup.mjs'

const lock = {
  packages: {
    '': { version: '0.1.0' },
    'node_modules/tsx': { version: '4.23.15' },
    'node_modules/@esbuild/darwin-arm64': { version: '0.25.0', optional: true },
  },
}
const installed = { packages: { 'node_modules/tsx': { version: '4.23.15' } } }

describe('scripts/setup.mjs decisions (nothing is installed here)', () => {
  it('runs npm ci when node_modules is missing, was not installed by npm, lacks a package or has another version', () => {
    expect(npmCiReason({ lock, nodeModules: false, installed: undefined })).toBe('node_modules is missing')
    expect(npmCiReason({ lock, nodeModules: true, installed: undefined })).toMatch(/not installed by npm/)
    expect(npmCiReason({ lock, nodeModules: true, installed: { packages: {} } })).toBe('node_modules/tsx is missing')
    expect(npmCiReason({ lock, nodeModules: true, installed: { packages: { 'node_modules/tsx': { version: '4.0.0' } } } })).toBe(
      'node_modules/tsx is 4.0.0, package-lock.json wants 4.23.15',
    )
  })

  it('leaves node_modules alone when it matches the lockfile (an optional package of another platform may be absent)', () => {
    expect(npmCiReason({ lock, nodeModules: true, installed })).toBeUndefined()
  })

  it('takes the first nats-server >= 2.12 in the processor order, skipping older or broken ones', () => {
    const candidates = natsServerCandidates({ NATS_SERVER_BIN: '/opt/nats', PATH: '/bin' }, '/repo')
    expect(candidates).toEqual(['/opt/nats', '/bin/nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/repo/.nats-server/usr/sbin/nats-server'])
    const versions: Record<string, string> = { '/bin/nats-server': '2.10.27', '/repo/.nats-server/usr/sbin/nats-server': '2.15.1' }
    expect(findNatsServer(candidates, (p) => versions[p])).toEqual({ path: '/repo/.nats-server/usr/sbin/nats-server', version: '2.15.1' })
    expect(findNatsServer(candidates, () => undefined)).toBeUndefined()
    expect(parseVersion('nats-server: v2.15.1\n')).toBe('2.15.1')
    expect([atLeast('2.12.0', '2.12.0'), atLeast('2.11.9', '2.12.0'), atLeast('3.0.0', '2.12.0')]).toEqual([true, false, true])
  })

  it('plans npm ci before nats-server, nothing when all is there, and nothing with ALLSOURCE_SKIP_SETUP=1', () => {
    const server = { path: '/usr/sbin/nats-server', version: '2.15.1' }
    expect(plan({ env: {}, npmCi: 'node_modules is missing', natsServer: undefined }).map((s) => s.step)).toEqual(['npm ci', 'nats-server'])
    expect(plan({ env: {}, npmCi: undefined, natsServer: server })).toEqual([])
    expect(plan({ env: { ALLSOURCE_SKIP_SETUP: '1' }, npmCi: 'node_modules is missing', natsServer: undefined })).toEqual([])
  })

  it('plans chromium only for the tests (--browser) and only when none is found', () => {
    const server = { path: '/usr/sbin/nats-server', version: '2.15.1' }
    expect(plan({ env: {}, npmCi: undefined, natsServer: server, browser: true, chromium: false }).map((s) => s.step)).toEqual(['chromium'])
    expect(plan({ env: {}, npmCi: undefined, natsServer: server, browser: true, chromium: true })).toEqual([])
    expect(plan({ env: {}, npmCi: undefined, natsServer: server, browser: false, chromium: false })).toEqual([])
    expect(chromiumCandidates({ CHROMIUM_BIN: '/opt/c' })).toEqual(['/opt/c', '/usr/bin/chromium', '/usr/bin/chromium-browser'])
  })
})
