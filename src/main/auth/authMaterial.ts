import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createAccount, createCurve, createUser, fromCurveSeed, fromSeed } from '@nats-io/nkeys'
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { subjects } from '../../adapters/nats/subjects.js'

/**
 * The secrets of auth mode, generated once per data dir and kept in `<dataDir>/auth/secrets.json`
 * (mode 0600, directory 0700). None of them is ever logged.
 * - `pepper`: keys the API key hashes (a copy of the key store alone cannot test guesses);
 * - `issuerSeed`: the account nkey that signs the callout's answers (`auth_callout.issuer`);
 * - `xkeySeed`: the curve key that seals requests to and answers from the callout (`xkey`);
 * - `processorSeed`, `calloutSeed`, `systemSeed`: the nkey users of the processor (account
 *   `ALLSOURCE`), the callout service (account `AUTH`) and the control plane's system user
 *   (account `SYS`); all three are `auth_users`, so they never wait for the callout.
 */
export const AuthMaterial = t.type({
  version: t.literal(1),
  pepper: t.string,
  issuerSeed: t.string,
  xkeySeed: t.string,
  processorSeed: t.string,
  calloutSeed: t.string,
  systemSeed: t.string,
})
export type AuthMaterial = t.TypeOf<typeof AuthMaterial>

/** The account tenant connections and the processor live in. */
export const APP_ACCOUNT = 'ALLSOURCE'
export const AUTH_ACCOUNT = 'AUTH'
export const SYSTEM_ACCOUNT = 'SYS'

const te = new TextEncoder()
const td = new TextDecoder()
const seedOf = (kp: { getSeed(): Uint8Array }): string => td.decode(kp.getSeed())

/** Fresh auth material (new keys, a 32-byte pepper). */
export const generateAuthMaterial = (): AuthMaterial => ({
  version: 1,
  pepper: randomBytes(32).toString('base64url'),
  issuerSeed: seedOf(createAccount()),
  xkeySeed: seedOf(createCurve()),
  processorSeed: seedOf(createUser()),
  calloutSeed: seedOf(createUser()),
  systemSeed: seedOf(createUser()),
})

/** `<dataDir>/auth`: where auth mode keeps its files. */
export const authDir = (dataDir: string): string => join(dataDir, 'auth')

/** Writes `text` to `file` atomically with mode 0600. */
export const writePrivateFile = (file: string, text: string): void => {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, text, { mode: 0o600 })
  renameSync(tmp, file)
  chmodSync(file, 0o600)
}

/**
 * The data dir's auth material: read from `<dataDir>/auth/secrets.json`, or generated and written
 * there (0600) on first use. A file that does not decode is an error naming the file, never a
 * silent regeneration (that would invalidate every stored API key).
 */
export const loadOrCreateAuthMaterial = (dataDir: string): AuthMaterial => {
  const dir = authDir(dataDir)
  const file = join(dir, 'secrets.json')
  if (existsSync(file)) {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'))
    } catch {
      throw new Error(`${file} is not valid JSON; restore it from a backup (every API key depends on its pepper)`)
    }
    const decoded = AuthMaterial.decode(parsed)
    if (E.isLeft(decoded)) throw new Error(`${file} is not a valid auth secrets file; restore it from a backup`)
    return decoded.right
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
  const material = generateAuthMaterial()
  writePrivateFile(file, `${JSON.stringify(material, null, 2)}\n`)
  return material
}

/** The public keys the server configuration names. */
export const publicKeys = (m: AuthMaterial) => ({
  issuer: fromSeed(te.encode(m.issuerSeed)).getPublicKey(),
  xkey: fromCurveSeed(te.encode(m.xkeySeed)).getPublicKey(),
  processor: fromSeed(te.encode(m.processorSeed)).getPublicKey(),
  callout: fromSeed(te.encode(m.calloutSeed)).getPublicKey(),
  system: fromSeed(te.encode(m.systemSeed)).getPublicKey(),
})

/**
 * The nats-server configuration block of auth mode (public keys only): the application account
 * with JetStream and the processor, the callout's account, the system account, and the callout
 * itself with the processor, callout and system users exempt (`auth_users`). Every other client
 * is authenticated by the callout.
 */
export const serverAuthBlock = (m: AuthMaterial, routing?: { readonly prefix: string; readonly partitions: number }): string => {
  const k = publicKeys(m)
  // The append mapping, when asked for, lives in the application account (mappings are per account).
  // Not by default: NATS checks a tenant's publish against the mapped subject and reports a refusal
  // under it, so a raw NATS requester waits out its timeout instead of seeing the violation
  // (docs/operations.md, "Several processors").
  const mapping = routing !== undefined && routing.partitions > 0 ? subjects(routing.prefix).appendMapping(routing.partitions) : undefined
  const mappings = mapping !== undefined ? `, mappings: { "${mapping.source}": "${mapping.destination}" }` : ''
  return [
    '# AllSource auth mode (generated; see docs/security.md). Public keys only.',
    'accounts {',
    `  ${APP_ACCOUNT} { jetstream: enabled, users: [ { nkey: ${k.processor} } ]${mappings} }`,
    `  ${AUTH_ACCOUNT} { users: [ { nkey: ${k.callout} } ] }`,
    `  ${SYSTEM_ACCOUNT} { users: [ { nkey: ${k.system} } ] }`,
    '}',
    `system_account: ${SYSTEM_ACCOUNT}`,
    'authorization {',
    '  auth_callout {',
    `    issuer: ${k.issuer}`,
    `    account: ${AUTH_ACCOUNT}`,
    `    auth_users: [ ${k.callout}, ${k.processor}, ${k.system} ]`,
    `    xkey: ${k.xkey}`,
    '  }',
    '}',
  ].join('\n')
}
