import { describe, expect, it } from 'vitest'
import { compareVersions, installHint, parseNatsServerVersion } from '../../../src/main/natsServer/findNatsServer.js'

describe('parseNatsServerVersion', () => {
  it('reads the version nats-server --version prints', () => {
    expect(parseNatsServerVersion('nats-server: v2.10.27\n')).toBe('2.10.27')
    expect(parseNatsServerVersion('nats-server: v2.9.10')).toBe('2.9.10')
  })

  it('keeps a pre-release suffix', () => {
    expect(parseNatsServerVersion('nats-server: v2.11.0-RC.1')).toBe('2.11.0-RC.1')
  })

  it('returns undefined when there is no version', () => {
    expect(parseNatsServerVersion('')).toBeUndefined()
    expect(parseNatsServerVersion('command not found')).toBeUndefined()
  })
})

describe('compareVersions', () => {
  it('compares numerically, not as strings', () => {
    expect(compareVersions('2.10.0', '2.9.10')).toBeGreaterThan(0)
    expect(compareVersions('2.9.10', '2.10.0')).toBeLessThan(0)
    expect(compareVersions('2.10.27', '2.10.3')).toBeGreaterThan(0)
    expect(compareVersions('3.0.0', '2.99.99')).toBeGreaterThan(0)
  })

  it('treats equal versions, a leading v and missing parts as equal', () => {
    expect(compareVersions('2.10.0', '2.10.0')).toBe(0)
    expect(compareVersions('v2.10.0', '2.10.0')).toBe(0)
    expect(compareVersions('2.10', '2.10.0')).toBe(0)
  })

  it('orders a pre-release before its release and after the previous one', () => {
    expect(compareVersions('2.10.0-RC.1', '2.10.0')).toBeLessThan(0)
    expect(compareVersions('2.10.0', '2.10.0-RC.1')).toBeGreaterThan(0)
    expect(compareVersions('2.10.0-RC.1', '2.9.25')).toBeGreaterThan(0)
    expect(compareVersions('2.10.0-RC.1', '2.10.0-RC.2')).toBeLessThan(0)
  })
})

describe('installHint', () => {
  it('says every way to get a server and why candidates were skipped', () => {
    const msg = installHint('2.10.0', ['/usr/sbin/nats-server (PATH): v2.9.10 is older than 2.10.0'])
    expect(msg).toContain('npm run nats-server')
    expect(msg).toContain('NATS_SERVER_BIN')
    expect(msg).toContain('https://github.com/nats-io/nats-server/releases')
    expect(msg).toContain('v2.9.10 is older than 2.10.0')
  })
})
