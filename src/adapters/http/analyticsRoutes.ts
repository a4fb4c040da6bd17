import type { FastifyInstance } from 'fastify'
import * as t from 'io-ts'
import { analyticsKinds } from '../../domain/analytics/analyticsRequest.js'
import { buckets, periods } from '../../domain/analytics/buckets.js'
import type { GatewayAuth } from './gatewayAuth.js'
import { annotate } from './jsonSchema.js'
import type { GatewayData } from './ports.js'
import { answer, defineRoute } from './route.js'
import * as E from 'fp-ts/lib/Either.js'
import { ANALYTICS_FALLBACK_HEADER, ANALYTICS_SOURCE_HEADER } from '../../application/analytics/runAnalytics.js'

const IsoTime = annotate(new t.StringType(), { format: 'date-time' })
const Where = annotate(t.unknown, { description: 'a filter: JSON ({"eq":["type","a"]}) or its text form ("type = \\"a\\"") — docs/querying.md' })
const enumOf = <A extends string>(name: string, values: readonly A[]) => t.keyof(Object.fromEntries(values.map((v) => [v, null])) as Record<A, null>, name)

/**
 * What a `POST /v1/tenants/{tenant}/analytics/{kind}` body may hold (for the documentation: the
 * domain's validator decides, so an unknown field or one the kind does not take is refused with its path).
 */
export const AnalyticsBody = t.partial(
  {
    since: IsoTime,
    until: IsoTime,
    where: Where,
    bucket: enumOf('Bucket', buckets),
    period: enumOf('Period', periods),
    top: t.number,
    steps: t.array(Where),
    withinMs: t.number,
    a: Where,
    b: Where,
    threshold: t.number,
  },
  'AnalyticsRequest',
)

/** The replies of the six kinds (DESIGN.md, "Query language, pipelines, analytics"). */
export const AnalyticsReply = t.union(
  [
    t.type({ buckets: t.array(t.type({ start: IsoTime, count: t.number })) }, 'FrequencyReply'),
    t.type(
      {
        types: t.array(t.type({ type: t.string, count: t.number })),
        streams: t.array(t.type({ stream: t.string, count: t.number })),
        days: t.array(t.type({ day: t.string, count: t.number })),
      },
      'SummaryReply',
    ),
    t.type({ steps: t.array(t.type({ count: t.number })) }, 'FunnelReply'),
    t.type({ cohorts: t.array(t.type({ start: IsoTime, size: t.number, active: t.array(t.number) })) }, 'RetentionReply'),
    t.type({ count: t.number }, 'CorrelationReply'),
    t.type({ anomalies: t.array(t.type({ start: IsoTime, count: t.number, z: t.number })) }, 'AnomaliesReply'),
  ],
  'AnalyticsReply',
)

/** `POST /v1/tenants/{tenant}/analytics/{kind}`: the NATS request `allsource.analytics.<tenant>.<kind>` over HTTP (docs/analytics.md). */
export const registerAnalyticsRoutes = (app: FastifyInstance, auth: GatewayAuth, data: GatewayData): void => {
  defineRoute(app, auth, {
    method: 'POST',
    url: '/v1/tenants/:tenant/analytics/:kind',
    summary: 'Analytics over the tenant log',
    description: `\`kind\`: ${analyticsKinds.join(', ')}. The body is the NATS request \`{ since?, until?, where?, … }\` with the kind's fields (docs/analytics.md); an empty body takes the defaults. An unknown kind is 404; a scope over the scan limit (1,000,000 events by default) is 413 TOO_LARGE. The reply header \`AllSource-Analytics-Source\` says which path answered (\`read-model\` or \`scan\`), and \`AllSource-Analytics-Fallback\` why a scan answered a shape the read model serves.`,
    tag: 'analytics',
    access: { kind: 'tenant', operation: 'query' },
    body: t.UnknownRecord,
    documentedBody: AnalyticsBody,
    bodyRequired: false,
    reply: AnalyticsReply,
    run: async ({ params, body, reply }) => {
      const r = await data.analytics(params.tenant ?? '', params.kind ?? '', body ?? {})
      if (E.isLeft(r)) return answer(r)
      // The same headers as the NATS reply: which path answered, and why a scan when the read model could have.
      if (r.right.source !== undefined) reply.header(ANALYTICS_SOURCE_HEADER, r.right.source)
      if (r.right.fallback !== undefined) reply.header(ANALYTICS_FALLBACK_HEADER, r.right.fallback.replace(/[\r\n]+/g, ' '))
      return answer(E.right(r.right.reply))
    },
  })
}
