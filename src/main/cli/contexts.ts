import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'

/**
 * A named context, like the `nats` CLI's: where to connect and with what. Stored as
 * `<configDir>/contexts/<name>.json`, mode 0600 (the directory 0700). `token` is an API key (a
 * tenant key when `tenant` is set, else the operator's); `accessToken`/`refreshToken` come from
 * `allsource login` and win over `token` while the access token is valid.
 */
export const Context = t.partial({
  url: t.string,
  token: t.string,
  tenant: t.string,
  user: t.string,
  accessToken: t.string,
  refreshToken: t.string,
  /** ISO time the access token expires. */
  expiresAt: t.string,
  description: t.string,
})
export type Context = t.TypeOf<typeof Context>

/** `<configDir>/config.json`: which context is selected. */
const ConfigFile = t.partial({ current: t.string })

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/

/** A context name: 1–64 of `A–Z a–z 0–9 _ - .`, not starting with a dot (it is a file name). */
export const isContextName = (name: string): boolean => NAME.test(name)

/** `$ALLSOURCE_CONFIG_DIR`, default `~/.config/allsource`. */
export const configDir = (env: NodeJS.ProcessEnv = process.env): string => {
  const d = env.ALLSOURCE_CONFIG_DIR
  return d !== undefined && d !== '' ? d : join(homedir(), '.config', 'allsource')
}

const readJson = <A>(file: string, codec: t.Decoder<unknown, A>): E.Either<string, A | undefined> => {
  if (!existsSync(file)) return E.right(undefined)
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return E.left(`${file} is not valid JSON: fix or delete it`)
  }
  const decoded = codec.decode(raw)
  return E.isLeft(decoded) ? E.left(`${file} does not hold a valid AllSource context: fix or delete it`) : E.right(decoded.right)
}

/** Writes a private file (0600) in a private directory (0700), even over a looser existing file. */
const writePrivate = (dir: string, file: string, value: unknown): void => {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
}

/** The context store of one config directory. Errors are values naming the file, never a secret. */
export const contextStore = (dir: string) => {
  const contextsDir = join(dir, 'contexts')
  const fileOf = (name: string) => join(contextsDir, `${name}.json`)
  const configFile = join(dir, 'config.json')
  return {
    dir,
    fileOf,
    load(name: string): E.Either<string, Context | undefined> {
      if (!isContextName(name)) return E.left(`"${name}" is not a context name (1–64 of A–Z a–z 0–9 _ - .)`)
      return readJson(fileOf(name), Context)
    },
    save(name: string, context: Context): void {
      writePrivate(contextsDir, fileOf(name), context)
    },
    remove(name: string): boolean {
      if (!existsSync(fileOf(name))) return false
      rmSync(fileOf(name))
      return true
    },
    list(): string[] {
      if (!existsSync(contextsDir)) return []
      return readdirSync(contextsDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -'.json'.length))
        .filter(isContextName)
        .sort()
    },
    current(): E.Either<string, string | undefined> {
      const c = readJson(configFile, ConfigFile)
      return E.isLeft(c) ? c : E.right(c.right?.current)
    },
    select(name: string | undefined): void {
      writePrivate(dir, configFile, name === undefined ? {} : { current: name })
    },
  }
}
export type ContextStore = ReturnType<typeof contextStore>

/** A secret shown as its first characters and its length, never in full. */
export const masked = (secret: string | undefined): string | undefined =>
  secret === undefined ? undefined : `${secret.slice(0, Math.min(8, Math.floor(secret.length / 4)))}…(${secret.length} chars)`
