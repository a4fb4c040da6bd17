import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type AuthMaterial, authDir, loadOrCreateAuthMaterial, publicKeys, serverAuthBlock } from '../../../../src/main/auth/authMaterial.js'

const seedsOf = (m: AuthMaterial): readonly string[] => [m.issuerSeed, m.xkeySeed, m.processorSeed, m.calloutSeed, m.systemSeed]
const mode = (path: string): number => statSync(path).mode & 0o777

let dataDir = ''
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'allsource-authmaterial-'))
})
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true })
})

describe('loadOrCreateAuthMaterial', () => {
  it('creates <dataDir>/auth/secrets.json (0600, directory 0700) once and answers the same material after', () => {
    const first = loadOrCreateAuthMaterial(dataDir)
    const file = join(authDir(dataDir), 'secrets.json')
    expect(mode(file)).toBe(0o600)
    expect(mode(authDir(dataDir))).toBe(0o700)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(first)
    expect(first.version).toBe(1)
    for (const seed of seedsOf(first)) expect(seed).toMatch(/^S/)
    expect(Buffer.from(first.pepper, 'base64url').length).toBe(32)
    expect(loadOrCreateAuthMaterial(dataDir)).toEqual(first)
  })

  it('tightens an auth directory that already exists to 0700', () => {
    mkdirSync(authDir(dataDir), { mode: 0o755 })
    chmodSync(authDir(dataDir), 0o755)
    loadOrCreateAuthMaterial(dataDir)
    expect(mode(authDir(dataDir))).toBe(0o700)
  })

  it('generates different material for another data dir', () => {
    const other = mkdtempSync(join(tmpdir(), 'allsource-authmaterial-'))
    try {
      const a = loadOrCreateAuthMaterial(dataDir)
      const b = loadOrCreateAuthMaterial(other)
      expect(b.pepper).not.toBe(a.pepper)
      expect(b.processorSeed).not.toBe(a.processorSeed)
    } finally {
      rmSync(other, { recursive: true, force: true })
    }
  })

  it('refuses a corrupt file with an error naming it, and no seed in the message; the file is left as it was', () => {
    const m = loadOrCreateAuthMaterial(dataDir)
    const file = join(authDir(dataDir), 'secrets.json')
    const whole = JSON.stringify(m)
    const corrupt = [
      whole.slice(0, Math.floor(whole.length / 2)), // truncated mid-seed: not JSON
      JSON.stringify({ ...m, version: 2 }), // JSON, wrong shape
      JSON.stringify({ ...m, calloutSeed: 42 }),
      '',
    ]
    for (const text of corrupt) {
      writeFileSync(file, text)
      let message = ''
      try {
        loadOrCreateAuthMaterial(dataDir)
      } catch (e) {
        message = e instanceof Error ? e.message : String(e)
      }
      expect(message).toContain(file)
      for (const seed of seedsOf(m)) {
        expect(message).not.toContain(seed)
        expect(message).not.toContain(seed.slice(0, 12))
      }
      expect(message).not.toContain(m.pepper)
      expect(readFileSync(file, 'utf8')).toBe(text)
    }
  })
})

describe('serverAuthBlock', () => {
  it('names the accounts, the system account and the callout with its exempt users, by public keys only', () => {
    const m = loadOrCreateAuthMaterial(dataDir)
    const block = serverAuthBlock(m)
    const k = publicKeys(m)
    for (const seed of seedsOf(m)) {
      expect(block).not.toContain(seed)
      // Nor any part of one: a seed's body follows its first two characters.
      expect(block).not.toContain(seed.slice(2, 20))
    }
    expect(block).not.toContain(m.pepper)
    // No token shaped like an nkey seed (S + type + base32).
    expect(block).not.toMatch(/\bS[A-Z][A-Z2-7]{40,}/)
    expect(k.issuer).toMatch(/^A/)
    expect(k.xkey).toMatch(/^X/)
    for (const u of [k.processor, k.callout, k.system]) expect(u).toMatch(/^U/)
    expect(block).toContain(`ALLSOURCE { jetstream: enabled, users: [ { nkey: ${k.processor} } ] }`)
    // The append mapping only when asked for; it follows the prefix and partition count; 0 partitions leaves it out.
    expect(serverAuthBlock(m, { prefix: 'x', partitions: 4 })).toContain('"x.append.*.*": "x.routed.{{wildcard(1)}}.{{wildcard(2)}}.{{partition(4,1,2)}}"')
    expect(serverAuthBlock(m, { prefix: 'x', partitions: 0 })).not.toContain('mappings')
    expect(block).toContain(`AUTH { users: [ { nkey: ${k.callout} } ] }`)
    expect(block).toContain(`SYS { users: [ { nkey: ${k.system} } ] }`)
    expect(block).toContain('system_account: SYS')
    expect(block).toContain(`issuer: ${k.issuer}`)
    expect(block).toContain('account: AUTH')
    expect(block).toContain(`auth_users: [ ${k.callout}, ${k.processor}, ${k.system} ]`)
    expect(block).toContain(`xkey: ${k.xkey}`)
  })
})
