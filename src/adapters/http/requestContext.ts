import type { FastifyRequest } from 'fastify'
import type { RequestContext } from '../../application/observability/ports.js'

/**
 * What an HTTP request hands the append path to carry into the commit's headers
 * (docs/observability.md): its id (`X-Request-Id` when valid, else the one the gateway made) and
 * a W3C `traceparent` header when the client sent one (checked where it is parsed; one that does
 * not parse starts no trace).
 */
export const requestContextOf = (request: FastifyRequest): RequestContext => {
  const traceparent = request.headers.traceparent
  return typeof traceparent === 'string' ? { requestId: String(request.id), traceparent } : { requestId: String(request.id) }
}
