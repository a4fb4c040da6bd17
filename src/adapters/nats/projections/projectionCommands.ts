import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { type AppendError, notFound } from '../../../application/streams/errors.js'
import type { ProjectionControl, ProjectionStatus } from '../../../domain/projections/operations.js'
import { isProjectionName } from '../../../domain/projections/projection.js'
import { checkRebuildOffset, validateProjectionCommand } from '../../../domain/projections/projectionRequest.js'
import { invalidId } from '../../../domain/streams/errors.js'
import { LOG_STREAM } from './projectionFold.js'
import type { ProjectionReader } from './projectionReader.js'

/** A status report older than this (and not `stopped`) is marked `stale`: its owner may be gone. */
const STALE_MS = 15_000

export const withStaleness = (s: ProjectionStatus, now: number): ProjectionStatus & { readonly stale?: true } =>
  s.state !== 'stopped' && s.updatedAt !== undefined && now - Date.parse(s.updatedAt) > STALE_MS ? { ...s, stale: true } : s

/** What a pause, resume or rebuild answers: the projection and its stored control. */
export interface ControlReply {
  readonly name: string
  readonly control: ProjectionControl
}

export interface ProjectionCommands {
  /** The name when it is valid and the projection has run somewhere (`INVALID_ID`, `NOT_FOUND`). */
  known(name: string | undefined): Promise<E.Either<AppendError, string>>
  /** The last status reported, or `standby` for a projection that never reported one. */
  status(name: string): Promise<ProjectionStatus & { readonly stale?: true }>
  /**
   * `status|pause|resume|rebuild` on a projection (a rebuild body `{ fromOffset? }`). The command is
   * stored in the control bucket and carried out by whichever instance holds the projection's
   * lease; the reply says what was stored, not that it was done (poll the status for progress).
   */
  run(name: string | undefined, command: string, body: unknown): Promise<E.Either<AppendError, ControlReply | ProjectionStatus>>
}

/**
 * The projection operators' commands, one implementation for every door: the NATS endpoint
 * `allsource.admin.projection.<name>.<command>` and the HTTP route
 * `POST /v1/admin/projections/{name}/{command}`.
 */
export const createProjectionCommands = (nc: NatsConnection, reader: ProjectionReader): ProjectionCommands => {
  const known: ProjectionCommands['known'] = async (name) => {
    if (name === undefined || !isProjectionName(name)) return E.left(invalidId('projection', 'a projection name is 1–64 of A–Z a–z 0–9 _ -'))
    return (await reader.pointer(name)) === undefined ? E.left(notFound(`no projection "${name}"`)) : E.right(name)
  }
  const status: ProjectionCommands['status'] = async (name) => {
    const s = await reader.catalog.status(name)
    return s === undefined ? { name, version: 0, state: 'standby', checkpoint: 0, lag: 0, eventsPerSecond: 0 } : withStaleness(s, Date.now())
  }
  return {
    known,
    status,
    async run(given, commandName, body) {
      const name = await known(given)
      if (E.isLeft(name)) return name
      const command = validateProjectionCommand(commandName, body)
      if (E.isLeft(command)) return command
      const c = command.right
      switch (c._tag) {
        case 'Status':
          return E.right(await status(name.right))
        case 'Pause':
          return E.right({ name: name.right, control: await reader.catalog.updateControl(name.right, (x) => ({ ...x, paused: true })) })
        case 'Resume':
          return E.right({ name: name.right, control: await reader.catalog.updateControl(name.right, (x) => ({ ...x, paused: false, retry: x.retry + 1 })) })
        case 'Rebuild': {
          // Only a rebuild needs the end of the log (one stream-info round trip).
          const logEnd = (await (await jetstreamManager(nc)).streams.info(LOG_STREAM)).state.last_seq
          const ok = checkRebuildOffset(c.fromOffset, logEnd)
          if (E.isLeft(ok)) return ok
          const rebuild = { id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, fromOffset: c.fromOffset }
          return E.right({ name: name.right, control: await reader.catalog.updateControl(name.right, (x) => ({ ...x, rebuild })) })
        }
        default: {
          const never: never = c
          return never
        }
      }
    },
  }
}
