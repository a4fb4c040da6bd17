import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import type { ApiKeyHasher } from '../../application/auth/ports.js'
import type { OperatorKey } from '../../application/auth/authenticate.js'
import { formatApiKey, parseApiKey } from '../../domain/security/apiKey.js'
import { authDir, writePrivateFile } from './authMaterial.js'

/** `<dataDir>/auth/operator.key`: the generated bootstrap operator key (0600), where the CLI finds it. */
export const operatorKeyFile = (dataDir: string): string => join(authDir(dataDir), 'operator.key')

/** Where the operator key came from, for the start log (never the key itself). */
export type OperatorKeySource = 'ALLSOURCE_BOOTSTRAP_KEY' | 'file' | 'created'

/**
 * The operator (bootstrap) key of this data dir, as its keyed hash: `ALLSOURCE_BOOTSTRAP_KEY`
 * when set (it must be a well-formed `as_…` key; it is not written anywhere), else the one in
 * `<dataDir>/auth/operator.key`, else a new key written there once (mode 0600). Errors name the
 * setting or file, never the key.
 */
export const loadOrCreateOperatorKey = (
  dataDir: string,
  fromEnv: string | undefined,
  hasher: ApiKeyHasher,
): { readonly operator: OperatorKey; readonly source: OperatorKeySource; readonly file: string } => {
  const file = operatorKeyFile(dataDir)
  const fromText = (text: string, what: string): OperatorKey => {
    const parsed = parseApiKey(text.trim())
    if (E.isLeft(parsed)) throw new Error(`${what} is not an AllSource key (as_<keyId>_<secret>_<checksum>, 66 characters): ${parsed.left.reason}`)
    return { keyId: parsed.right.keyId, hash: hasher.hash(parsed.right.keyId, parsed.right.secret) }
  }
  if (fromEnv !== undefined) return { operator: fromText(fromEnv, 'ALLSOURCE_BOOTSTRAP_KEY'), source: 'ALLSOURCE_BOOTSTRAP_KEY', file }
  if (existsSync(file)) return { operator: fromText(readFileSync(file, 'utf8'), file), source: 'file', file }
  mkdirSync(authDir(dataDir), { recursive: true, mode: 0o700 })
  const { keyId, secret } = hasher.generate()
  writePrivateFile(file, `${formatApiKey(keyId, secret).reveal()}\n`)
  return { operator: { keyId, hash: hasher.hash(keyId, secret) }, source: 'created', file }
}

/**
 * The credential a client (the CLI) presents, if any: `ALLSOURCE_TOKEN`, else
 * `ALLSOURCE_BOOTSTRAP_KEY`, else the data dir's operator key file. Undefined: connect without one.
 */
export const clientToken = (env: NodeJS.ProcessEnv, dataDir: string): string | undefined => {
  for (const name of ['ALLSOURCE_TOKEN', 'ALLSOURCE_BOOTSTRAP_KEY'] as const) {
    const v = env[name]?.trim()
    if (v !== undefined && v !== '') return v
  }
  const file = operatorKeyFile(dataDir)
  try {
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined
  } catch {
    return undefined
  }
}
