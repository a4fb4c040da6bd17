import * as E from 'fp-ts/lib/Either.js'
import { badRequest, type DomainError, invalidId } from '../streams/errors.js'
import { decodePipeline, type PipelineDefinition } from './definition.js'

/** The commands of `<prefix>.admin.<tenant>.pipelines.<command>`. */
export const pipelineCommands = ['create', 'list', 'get', 'delete', 'pause', 'resume', 'rebuild'] as const
export type PipelineCommandName = (typeof pipelineCommands)[number]

export type PipelineCommand =
  | { readonly _tag: 'Create'; readonly definition: PipelineDefinition; readonly json: unknown }
  | { readonly _tag: 'List' }
  | { readonly _tag: 'Get' | 'Delete' | 'Pause' | 'Resume'; readonly name: string }
  | { readonly _tag: 'Rebuild'; readonly name: string; readonly fromOffset: number }

/** A pipeline name in the admin API: 1–64 of `A–Z a–z 0–9 _ -`, not starting with `-`, no `--` (the separator of {@link runtimeName}). */
const ADMIN_NAME_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_]|-(?!-))*$/

/**
 * The projection name a tenant's pipeline runs under: `<tenant>--<name>`. Unambiguous (a name has
 * no `--` and does not start with `-`), so two tenants' pipelines never share a lease, read model
 * or control record. It must fit a projection name (64 characters).
 */
export const runtimeName = (tenant: string, name: string): string => `${tenant}--${name}`

const nameOf = (tenant: string, u: unknown): E.Either<DomainError, string> => {
  if (typeof u !== 'string' || u.length > 64 || !ADMIN_NAME_RE.test(u)) return E.left(invalidId('name', 'a pipeline name is 1–64 of A–Z a–z 0–9 _ -, not starting with - and without --'))
  if (runtimeName(tenant, u).length > 64) return E.left(badRequest(`tenant and pipeline name together are at most 62 characters (the pipeline runs as projection "<tenant>--<name>")`, { field: 'name' }))
  return E.right(u)
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array)

/**
 * Validates one admin command's body: `create` takes the definition JSON (docs/pipelines.md), the
 * others `{ name }` (`rebuild` also `fromOffset?`, default 0 = the whole log), `list` nothing.
 * Never throws; a fault is `BAD_REQUEST` (a definition's with `details.path`) or `INVALID_ID`.
 */
export const validatePipelineCommand = (tenant: string, command: string, body: unknown): E.Either<DomainError, PipelineCommand> => {
  switch (command) {
    case 'list':
      return E.right({ _tag: 'List' })
    case 'create': {
      if (isRecord(body)) {
        const n = nameOf(tenant, body.name)
        if (E.isLeft(n)) return n
      }
      const d = decodePipeline(body)
      return E.isLeft(d) ? d : E.right({ _tag: 'Create', definition: d.right, json: body })
    }
    case 'get':
    case 'delete':
    case 'pause':
    case 'resume':
    case 'rebuild': {
      if (!isRecord(body)) return E.left(badRequest('request body must be an object with name'))
      const known = command === 'rebuild' ? ['name', 'fromOffset'] : ['name']
      const extra = Object.keys(body).find((k) => !known.includes(k))
      if (extra !== undefined) return E.left(badRequest(`unknown field "${extra.slice(0, 64)}" (known: ${known.join(', ')})`, { field: extra.slice(0, 64) }))
      const n = nameOf(tenant, body.name)
      if (E.isLeft(n)) return n
      if (command !== 'rebuild') return E.right({ _tag: command === 'get' ? 'Get' : command === 'delete' ? 'Delete' : command === 'pause' ? 'Pause' : 'Resume', name: n.right })
      const from = body.fromOffset ?? 0
      if (typeof from !== 'number' || !Number.isSafeInteger(from) || from < 0) return E.left(badRequest('fromOffset must be an integer ≥ 0', { field: 'fromOffset' }))
      return E.right({ _tag: 'Rebuild', name: n.right, fromOffset: from })
    }
    default:
      return E.left(badRequest(`unknown pipelines command "${command.slice(0, 32)}"; one of ${pipelineCommands.join(', ')}`, { field: 'subject' }))
  }
}
