import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { type AppendError, notFound, unavailable } from '../../../application/streams/errors.js'
import type { ProjectionStatus } from '../../../domain/projections/operations.js'
import { isProjectionName } from '../../../domain/projections/projection.js'
import { checkRebuildOffset, validateProjectionCommand, validateProjectionRequest } from '../../../domain/projections/projectionRequest.js'
import { invalidId } from '../../../domain/streams/errors.js'
import { validateTenant } from '../../../domain/streams/appendRequest.js'
import { type Endpoint, type EndpointBase, startEndpoint } from '../service/endpoint.js'
import { LOG_STREAM } from './projectionFold.js'
import type { ProjectionReader } from './projectionReader.js'

/** A status report older than this (and not `stopped`) is marked `stale`: its owner may be gone. */
const STALE_MS = 15_000

const withStaleness = (s: ProjectionStatus, now: number): ProjectionStatus & { readonly stale?: true } =>
  s.state !== 'stopped' && s.updatedAt !== undefined && now - Date.parse(s.updatedAt) > STALE_MS ? { ...s, stale: true } : s

/**
 * The projection API, served by every processor instance in the queue group:
 *
 * - `<prefix>.projection.<tenant>.<projection>`: `{ key, minOffset?, timeoutMs? }` → `{ key, state, offset }`;
 *   `{ keys: true, after?, limit? }` → `{ keys, next? }`; an empty body → the projection's status;
 * - `<prefix>.admin.projections`: `{ projections: [status…] }`, every projection's last status;
 * - `<prefix>.admin.projection.<projection>.<status|pause|resume|rebuild>`: operations. Commands are
 *   stored in the control bucket and carried out by whichever instance holds the projection's lease.
 */
export const startProjectionEndpoints = (
  nc: NatsConnection,
  reader: ProjectionReader,
  o: EndpointBase,
): Endpoint[] => {
  const known = async (name: string | undefined): Promise<E.Either<AppendError, string>> => {
    if (name === undefined || !isProjectionName(name)) return E.left(invalidId('projection', 'a projection name is 1–64 of A–Z a–z 0–9 _ -'))
    return (await reader.pointer(name)) === undefined ? E.left(notFound(`no projection "${name}"`)) : E.right(name)
  }
  const statusOf = async (name: string): Promise<ProjectionStatus & { readonly stale?: true }> => {
    const s = await reader.catalog.status(name)
    return s === undefined ? { name, version: 0, state: 'standby', checkpoint: 0, lag: 0, eventsPerSecond: 0 } : withStaleness(s, Date.now())
  }

  const read = startEndpoint(nc, { prefix: o.prefix, queue: o.queue, verb: 'projection', tokens: 2, emptyBody: 'allowed', tenantReplies: o.tenantReplies ?? false, ...(o.onDropped !== undefined ? { onDropped: o.onDropped } : {}) }, async (tokens, body) => {
    const tenant = validateTenant(tokens[0])
    if (E.isLeft(tenant)) return tenant
    if (o.admit !== undefined) {
      const admitted = await o.admit(tenant.right)
      if (E.isLeft(admitted)) return admitted
    }
    const name = await known(tokens[1])
    if (E.isLeft(name)) return name
    const req = validateProjectionRequest(body)
    if (E.isLeft(req)) return req
    const r = req.right
    switch (r._tag) {
      case 'Status':
        return E.right(await statusOf(name.right))
      case 'Keys':
        return E.right(await reader.keys(name.right, tenant.right, r))
      case 'Get': {
        if (r.minOffset !== undefined) {
          const waited = await reader.waitFor(name.right, r.minOffset, r.timeoutMs)
          if (!waited.reached) {
            return E.left(unavailable(`projection "${name.right}" has not reached offset ${r.minOffset} within ${r.timeoutMs} ms`, { minOffset: r.minOffset, checkpoint: waited.checkpoint }))
          }
        }
        const entry = await reader.get(name.right, tenant.right, r.key)
        return entry === undefined ? E.left(notFound(`no key "${r.key}" in projection "${name.right}" for tenant "${tenant.right}"`)) : E.right(entry)
      }
      default: {
        const never: never = r
        return never
      }
    }
  })

  const all = startEndpoint(nc, { prefix: o.prefix, queue: o.queue, verb: 'admin.projections', name: 'projections-status', tokens: 0, emptyBody: 'allowed' }, async () => {
    const now = Date.now()
    return E.right({ projections: (await reader.catalog.statuses()).map((s) => withStaleness(s, now)) })
  })

  const admin = startEndpoint(nc, { prefix: o.prefix, queue: o.queue, verb: 'admin.projection', name: 'projection-admin', tokens: 2, emptyBody: 'allowed' }, async (tokens, body) => {
    const name = await known(tokens[0])
    if (E.isLeft(name)) return name
    const command = validateProjectionCommand(tokens[1] ?? '', body)
    if (E.isLeft(command)) return command
    const c = command.right
    switch (c._tag) {
      case 'Status':
        return E.right(await statusOf(name.right))
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
  })

  return [read, all, admin]
}
