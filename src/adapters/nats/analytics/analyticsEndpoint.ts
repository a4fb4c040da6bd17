import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import type { RunAnalytics } from '../../../application/analytics/runAnalytics.js'
import { validateTenant } from '../../../domain/streams/appendRequest.js'
import { type Endpoint, type EndpointBase, startEndpoint } from '../service/endpoint.js'

/**
 * `<prefix>.analytics.<tenant>.<kind>` (docs/analytics.md): the request `{ since?, until?, where?, … }`
 * in msgpack or JSON, answered by {@link RunAnalytics}. In auth mode it answers only replies under
 * `_INBOX.<tenant>.` and admits the tenant first (`TENANT_NOT_FOUND`, `TENANT_SUSPENDED`), as every
 * tenant endpoint does; NATS itself lets only roles that may `query` publish here (`natsGrants.ts`).
 */
export const startAnalyticsEndpoint = (nc: NatsConnection, run: RunAnalytics, o: EndpointBase): Endpoint =>
  startEndpoint(
    nc,
    {
      prefix: o.prefix,
      queue: o.queue,
      verb: 'analytics',
      tokens: 2,
      emptyBody: 'allowed',
      tenantReplies: o.tenantReplies ?? false,
      ...(o.onDropped !== undefined ? { onDropped: o.onDropped } : {}),
      ...(o.logger !== undefined ? { logger: o.logger } : {}),
    },
    async (tokens, body) => {
      const tenant = validateTenant(tokens[0])
      if (E.isLeft(tenant)) return tenant
      if (o.admit !== undefined) {
        const admitted = await o.admit(tenant.right)
        if (E.isLeft(admitted)) return admitted
      }
      return run(tenant.right, tokens[1] ?? '', body)
    },
  )
