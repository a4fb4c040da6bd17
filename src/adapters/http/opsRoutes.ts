import type { FastifyInstance } from 'fastify'
import { notFound, unavailable } from '../../application/streams/errors.js'
import type { GatewayDeps } from './gateway.js'
import { sendProblem } from './problem.js'

/**
 * `/health` (the process answers: 200 with facts), `/ready` (200 once connected and serving, else
 * 503 `UNAVAILABLE`; 503 too while the processor refuses requests for overload, so a load balancer
 * sends its traffic elsewhere), `/metrics` (Prometheus text, 404 when no registry is wired) and
 * `/openapi.json`. None needs credentials; none says anything secret.
 */
export const registerOpsRoutes = (app: FastifyInstance, deps: GatewayDeps): void => {
  const hidden = { schema: { hide: true } }
  app.get('/health', hidden, async () => ({ status: 'ok', ...deps.health.info?.() }))
  app.get('/ready', hidden, async (_req, reply) => {
    if (!deps.health.ready()) return sendProblem(reply, unavailable('not ready: not connected to NATS or not serving yet', { retryAfterMs: 1_000 }))
    const overloaded = deps.health.overloaded?.()
    return overloaded === undefined ? { status: 'ready' } : sendProblem(reply, unavailable(overloaded, { retryAfterMs: 1_000 }))
  })
  app.get('/metrics', hidden, async (_req, reply) => {
    const metrics = deps.metrics
    if (metrics === undefined) return sendProblem(reply, notFound('metrics are not enabled in this process'))
    return reply.header('content-type', metrics.contentType).send(await metrics.text())
  })
  app.get('/openapi.json', hidden, async () => app.swagger())
}
