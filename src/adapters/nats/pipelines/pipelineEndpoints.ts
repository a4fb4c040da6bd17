import type { NatsConnection } from '@nats-io/transport-node'
import type { TenantId } from '../../../domain/streams/ids.js'
import { tenantAdminRoute } from '../admin/policyEndpoints.js'
import type { ProjectionCatalog } from '../projections/projectionControl.js'
import { type Endpoint, type EndpointBase, startEndpoint } from '../service/endpoint.js'
import type { PipelineCatalog } from './pipelineCatalog.js'
import { createPipelineCommands } from './pipelineCommands.js'

/**
 * The pipeline admin API on NATS, request-reply in JSON or msgpack, failures through the one error
 * table (docs/pipelines.md, "As JSON, at run time"): `<prefix>.admin.<tenant>.pipelines.<command>`,
 * the commands of {@link createPipelineCommands} (the HTTP gateway runs the same ones). Who may
 * call is NATS's to check (the `manageProjections` grant) with the reply-inbox check; the tenant
 * must be admitted (auth mode).
 */
export const startPipelineEndpoints = (nc: NatsConnection, catalog: PipelineCatalog, control: ProjectionCatalog, o: EndpointBase): Endpoint => {
  const commands = createPipelineCommands(nc, catalog, control, o.admit !== undefined ? { admit: o.admit } : {})
  return startEndpoint(
    nc,
    {
      prefix: o.prefix,
      queue: `${o.queue}-pipelines`,
      verb: 'admin.pipelines',
      name: 'pipeline-admin',
      tokens: 2,
      emptyBody: 'allowed',
      route: tenantAdminRoute(o.prefix, 'pipelines', 1),
      tenantReplies: o.tenantReplies ?? false,
      ...(o.onDropped !== undefined ? { onDropped: o.onDropped } : {}),
      ...(o.logger !== undefined ? { logger: o.logger } : {}),
    },
    (tokens, body) => commands.run(tokens[0] as TenantId, tokens[1] ?? '', body),
  )
}
