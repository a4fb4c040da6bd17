import * as E from 'fp-ts/lib/Either.js'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHmacApiKeyHasher } from '../../../../src/adapters/crypto/hmacApiKeyHasher.js'
import { formatApiKey, parseApiKey } from '../../../../src/domain/security/apiKey.js'
import { authDir } from '../../../../src/main/auth/authMaterial.js'
import { clientToken, loadOrCreateOperatorKey, operatorKeyFile } from '../../../../src/main/auth/operatorKey.js'

const hasher = createHmacApiKeyHasher({ pepper: 'pepper-for-tests-0123456789abcdef-0123456789' })
const mode = (path: string): number => statSync(path).mode & 0o777
const newKey = (): string => {
  const { keyId, secret } = hasher.generate()
  return formatApiKey(keyId, secret).reveal()
}
const messageOf = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  }
  throw new Error('expected a throw')
}

let dataDir = ''
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'allsource-operatorkey-'))
})
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true })
})

describe('loadOrCreateOperatorKey', () => {
  it('creates <dataDir>/auth/operator.key (0600) once, holding a key that verifies against the answer', () => {
    const first = loadOrCreateOperatorKey(dataDir, undefined, hasher)
    const file = operatorKeyFile(dataDir)
    expect(first.source).toBe('created')
    expect(first.file).toBe(file)
    expect(mode(file)).toBe(0o600)
    expect(mode(authDir(dataDir))).toBe(0o700)
    const parsed = parseApiKey(readFileSync(file, 'utf8').trim())
    if (E.isLeft(parsed)) throw new Error('the operator key file does not hold a key')
    expect(parsed.right.keyId).toBe(first.operator.keyId)
    expect(hasher.verify(parsed.right.keyId, parsed.right.secret, first.operator.hash)).toBe(true)

    const written = readFileSync(file, 'utf8')
    const second = loadOrCreateOperatorKey(dataDir, undefined, hasher)
    expect(second).toEqual({ ...first, source: 'file' })
    expect(readFileSync(file, 'utf8')).toBe(written)
  })

  it('ALLSOURCE_BOOTSTRAP_KEY wins over the file and is not written anywhere', () => {
    const env = newKey()
    const fresh = loadOrCreateOperatorKey(dataDir, env, hasher)
    expect(fresh.source).toBe('ALLSOURCE_BOOTSTRAP_KEY')
    const parsed = parseApiKey(env)
    if (E.isLeft(parsed)) throw new Error('bad test key')
    expect(fresh.operator.keyId).toBe(parsed.right.keyId)
    expect(hasher.verify(parsed.right.keyId, parsed.right.secret, fresh.operator.hash)).toBe(true)
    expect(existsSync(operatorKeyFile(dataDir))).toBe(false)

    // With a file present, the environment still wins and the file is left alone.
    const created = loadOrCreateOperatorKey(dataDir, undefined, hasher)
    const before = readFileSync(operatorKeyFile(dataDir), 'utf8')
    const again = loadOrCreateOperatorKey(dataDir, ` ${env}\n`, hasher)
    expect(again.source).toBe('ALLSOURCE_BOOTSTRAP_KEY')
    expect(again.operator).toEqual(fresh.operator)
    expect(again.operator.keyId).not.toBe(created.operator.keyId)
    expect(readFileSync(operatorKeyFile(dataDir), 'utf8')).toBe(before)
    expect(before).not.toContain(env)
  })

  it('a malformed ALLSOURCE_BOOTSTRAP_KEY is an error naming the setting, never echoing the value', () => {
    const good = newKey()
    for (const bad of ['hunter2-operator-password', good.slice(0, -1), `${good.slice(0, -1)}${good.endsWith('a') ? 'b' : 'a'}`, `x${good}`]) {
      const message = messageOf(() => loadOrCreateOperatorKey(dataDir, bad, hasher))
      expect(message).toContain('ALLSOURCE_BOOTSTRAP_KEY')
      expect(message).not.toContain(bad)
      expect(message).not.toContain(bad.slice(3, 20))
    }
    expect(existsSync(operatorKeyFile(dataDir))).toBe(false)
  })

  it('a malformed key file is an error naming the file, never echoing its content', () => {
    mkdirSync(authDir(dataDir), { recursive: true })
    const content = 'not-a-key-but-a-secret-string'
    writeFileSync(operatorKeyFile(dataDir), content)
    const message = messageOf(() => loadOrCreateOperatorKey(dataDir, undefined, hasher))
    expect(message).toContain(operatorKeyFile(dataDir))
    expect(message).not.toContain(content)
  })
})

describe('clientToken', () => {
  it('ALLSOURCE_TOKEN, else ALLSOURCE_BOOTSTRAP_KEY, else the operator key file, else nothing', () => {
    expect(clientToken({}, dataDir)).toBeUndefined()
    const fileKey = newKey()
    mkdirSync(authDir(dataDir), { recursive: true })
    writeFileSync(operatorKeyFile(dataDir), `${fileKey}\n`)
    expect(clientToken({}, dataDir)).toBe(fileKey)
    expect(clientToken({ ALLSOURCE_BOOTSTRAP_KEY: 'boot' }, dataDir)).toBe('boot')
    expect(clientToken({ ALLSOURCE_TOKEN: 'tok', ALLSOURCE_BOOTSTRAP_KEY: 'boot' }, dataDir)).toBe('tok')
    expect(clientToken({ ALLSOURCE_TOKEN: ' tok\n' }, dataDir)).toBe('tok')
  })

  it('an empty setting counts as unset', () => {
    const fileKey = newKey()
    mkdirSync(authDir(dataDir), { recursive: true })
    writeFileSync(operatorKeyFile(dataDir), fileKey)
    expect(clientToken({ ALLSOURCE_TOKEN: '', ALLSOURCE_BOOTSTRAP_KEY: 'boot' }, dataDir)).toBe('boot')
    expect(clientToken({ ALLSOURCE_TOKEN: '', ALLSOURCE_BOOTSTRAP_KEY: '' }, dataDir)).toBe(fileKey)
  })
})
