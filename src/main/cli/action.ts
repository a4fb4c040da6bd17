import { type Command, InvalidArgumentError } from 'commander'
import * as E from 'fp-ts/lib/Either.js'
import type { AllSourceError } from '../../adapters/nats/service/client.js'
import { explain } from './explain.js'
import { CliError } from './output.js'
import { openSession, type Session } from './session.js'
import type { GlobalFlags } from './settings.js'

/** A command's options as commander parsed them. */
export type Opts = Readonly<Record<string, string | boolean | number | undefined>>

/**
 * Wraps a command body for commander: opens a session from the global flags, runs the body,
 * turns whatever it throws into a {@link CliError} that says what to do next, and closes the
 * connection whatever happened.
 */
export const act =
  (run: (s: Session, args: readonly string[], opts: Opts) => Promise<void>) =>
  async (...a: unknown[]): Promise<void> => {
    const cmd = a[a.length - 1] as Command
    const opts = a[a.length - 2] as Opts
    const args = a.slice(0, -2).flat() as string[]
    const s = openSession(cmd.optsWithGlobals<GlobalFlags>())
    try {
      await run(s, args, opts)
    } catch (e) {
      throw explain(e, s.settings.url)
    } finally {
      await s.close()
    }
  }

/** The Right of a client result, or the failure thrown for {@link act} to explain. */
export const orFail = <T>(r: E.Either<AllSourceError, T>): T => {
  if (E.isLeft(r)) throw r.left
  return r.right
}

/** An option value that must be a non-negative integer (a usage error otherwise). */
export const intArg = (v: string): number => {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError('must be a non-negative integer')
  return Number(v)
}

/** An option value that must be an ISO-8601 time. */
export const timeArg = (v: string): string => {
  if (Number.isNaN(Date.parse(v))) throw new InvalidArgumentError('must be an ISO-8601 time, e.g. 2026-12-01T10:00:00Z')
  return new Date(v).toISOString()
}

/** Parses a JSON argument, or fails as a usage error naming it. */
export const jsonArg = (text: string, what: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch (e) {
    throw new CliError(`${what} is not valid JSON (${e instanceof Error ? e.message : String(e)}); quote it in single quotes, e.g. '{"type":"a","payload":{}}'`, 2)
  }
}

/** The tenant a command acts on: its argument, else --tenant / ALLSOURCE_TENANT / the context's. */
export const tenantOf = (s: Session, given?: string): string => {
  const t = given ?? s.settings.tenant
  if (t === undefined) throw new CliError('which tenant? pass --tenant <tenant> (or set ALLSOURCE_TENANT, or save it in the context)', 2)
  return t
}
