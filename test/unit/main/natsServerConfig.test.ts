import { describe, expect, it } from 'vitest'
import { configuredStoreDir, deriveNatsConfig } from '../../../src/main/natsServer/natsServerConfig.js'

const conf = 'listen: 127.0.0.1:4222\njetstream {\n  store_dir: "./data"\n  max_file_store: 20GB\n}\n'

describe('deriveNatsConfig', () => {
  it('replaces store_dir in the file instead of passing -sd, which nats-server would refuse', () => {
    const d = deriveNatsConfig(conf, { storeDir: '/tmp/x y' })
    expect(d.storeDirAsFlag).toBe(false)
    expect(d.text).toContain('  store_dir: "/tmp/x y"')
    expect(d.text).not.toContain('./data')
    expect(configuredStoreDir(d.text)).toBe('/tmp/x y')
  })

  it('leaves the store to -sd when the file has no store_dir', () => {
    const d = deriveNatsConfig('max_payload: 2048\n', { storeDir: '/tmp/s' })
    expect(d).toEqual({ text: 'max_payload: 2048\n', storeDirAsFlag: true })
  })

  it('puts sync_interval: always into the jetstream block, replacing a set value', () => {
    expect(deriveNatsConfig(conf, { syncAlways: true }).text).toMatch(/jetstream \{\n {2}sync_interval: always\n {2}store_dir/)
    const set = deriveNatsConfig('jetstream {\n  sync_interval: "2m"\n}\n', { syncAlways: true }).text
    expect(set).toBe('jetstream {\n  sync_interval: always\n}\n')
  })

  it('ignores commented-out settings and adds a block when there is none', () => {
    const d = deriveNatsConfig('# sync_interval: always\n# store_dir: x\n', { syncAlways: true, storeDir: '/s' })
    expect(d.storeDirAsFlag).toBe(true)
    expect(d.text).toBe('# sync_interval: always\n# store_dir: x\n\njetstream {\n  sync_interval: always\n}\n')
  })

  it('appends the append text at the end, after the other overrides, and nothing for an empty one', () => {
    const block = 'accounts {\n  ALLSOURCE { jetstream: enabled }\n}'
    const d = deriveNatsConfig(conf, { append: block, storeDir: '/s', syncAlways: true })
    expect(d.text.endsWith(`\n${block}\n`)).toBe(true)
    expect(d.text.startsWith('listen: 127.0.0.1:4222\njetstream {\n  sync_interval: always\n  store_dir: "/s"')).toBe(true)
    expect(deriveNatsConfig(conf, { append: block }).text).toBe(`${conf}\n${block}\n`)
    expect(deriveNatsConfig(conf, { append: '' })).toEqual({ text: conf, storeDirAsFlag: false })
  })

  it('changes nothing without overrides', () => {
    expect(deriveNatsConfig(conf, {})).toEqual({ text: conf, storeDirAsFlag: false })
  })
})

describe('configuredStoreDir', () => {
  it('reads quoted and bare values, and nothing from comments', () => {
    expect(configuredStoreDir('store_dir: "./data"')).toBe('./data')
    expect(configuredStoreDir("store_dir = '/a b'")).toBe('/a b')
    expect(configuredStoreDir('  store_dir: /var/lib/x # where')).toBe('/var/lib/x')
    expect(configuredStoreDir('# store_dir: /nope')).toBeUndefined()
  })
})
