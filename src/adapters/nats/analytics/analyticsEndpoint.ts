import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { ANALYTICS_FALLBACK_HEADER, ANALYTICS_SOURCE_HEADER, type AnswerAnalytics } from '../../../application/analytics/runAnalytics.js'
import { validateTenant } from '../../../domain/streams/appendRequest.js'
import { type Endpoint, type EndpointBase, startEndpoint } from '../service/endpoint.js'
import { ReplyWithHeaders } from '../service/wireCodec.js'

export { ANALYTICS_FALLBACK_HEADER, ANALYTICS_SOURCE_HEADER }

/**
 * `<prefix>.analytics.<tenant>.<kind>` (docs/analytics.md): the request `{ since?, until?, where?, … }`
 * in msgpack or JSON, answered by {@link AnswerAnalytics}; a reply carries the header
 * `AllSource-Analytics-Source` (`read-model` or `scan`: the reply body is the contract's, unchanged)
 * and, on a scan of a shape the read model answers, `AllSource-Analytics-Fallback` with the reason. In auth mode it answers only replies under
 * `_INBOX.<tenant>.` and admits the tenant first (`TENANT_NOT_FOUND`, `TENANT_SUSPENDED`), as every
 * tenant endpoint does; NATS itself lets only roles that may `query` publish here (`natsGrants.ts`).
 */
export const startAnalyticsEndpoint = (nc: NatsConnection, run: AnswerAnalytics, o: EndpointBase): Endpoint =>
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
    async (tokens, body, _format, request) => {
      const tenant = validateTenant(tokens[0])
      if (E.isLeft(tenant)) return tenant
      if (o.admit !== undefined) {
        const admitted = await o.admit(tenant.right)
        if (E.isLeft(admitted)) return admitted
      }
      const answered = await run(tenant.right, tokens[1] ?? '', body)
      if (E.isLeft(answered)) return answered
      const { reply, source, fallback } = answered.right
      if (fallback !== undefined && o.logger?.debugEnabled === true) {
        o.logger.debug('analytics scanned instead of reading the event-frequency read model', { requestId: request.requestId, tenant: tenant.right, kind: tokens[1] ?? '', reason: fallback })
      }
      return E.right(
        new ReplyWithHeaders(reply, {
          [ANALYTICS_SOURCE_HEADER]: source,
          ...(fallback !== undefined ? { [ANALYTICS_FALLBACK_HEADER]: fallback.replace(/[\r\n]+/g, ' ').slice(0, 256) } : {}),
        }),
      )
    },
  )
