import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { notFound, unavailable } from '../../../application/streams/errors.js'
import { validateProjectionRequest } from '../../../domain/projections/projectionRequest.js'
import { validateTenant } from '../../../domain/streams/appendRequest.js'
import { type Endpoint, type EndpointBase, startEndpoint } from '../service/endpoint.js'
import { createProjectionCommands, withStaleness } from './projectionCommands.js'
import type { ProjectionReader } from './projectionReader.js'

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
  const commands = createProjectionCommands(nc, reader)
  const known = commands.known
  const statusOf = commands.status

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

  const admin = startEndpoint(nc, { prefix: o.prefix, queue: o.queue, verb: 'admin.projection', name: 'projection-admin', tokens: 2, emptyBody: 'allowed' }, async (tokens, body) =>
    commands.run(tokens[0], tokens[1] ?? '', body),
  )

  return [read, all, admin]
}
