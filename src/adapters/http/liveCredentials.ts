import type { IncomingHttpHeaders } from 'node:http'

/**
 * Where a live stream's credential may come from. A browser cannot set `Authorization` on a
 * WebSocket, so besides the header (`Bearer <access token>` or `ApiKey <key>`) the gateway takes:
 * - the query parameter `access_token=<access token>` (read as `Bearer`) or `api_key=<key>`
 *   (read as `ApiKey`);
 * - the subprotocol list: `new WebSocket(url, ['allsource.v1', 'allsource.bearer.<token>'])` or
 *   `'allsource.apikey.<key>'`; the server selects `allsource.v1`, never the credential.
 * The first found in that order (header, subprotocol, query) is used; each becomes the same header
 * string for `authorize`. A query string lands in access logs of proxies: prefer the subprotocol.
 */
export const LIVE_PROTOCOL = 'allsource.v1'
const BEARER = 'allsource.bearer.'
const API_KEY = 'allsource.apikey.'

const protocolsOf = (header: string | string[] | undefined): string[] =>
  (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((p) => p.trim()).filter((p) => p !== '')

/** The `Authorization` header value the request carries by any of the three ways, or undefined. */
export const authorizationOf = (headers: IncomingHttpHeaders, query: Readonly<Record<string, unknown>>): string | undefined => {
  if (typeof headers.authorization === 'string') return headers.authorization
  for (const p of protocolsOf(headers['sec-websocket-protocol'])) {
    if (p.startsWith(BEARER)) return `Bearer ${p.slice(BEARER.length)}`
    if (p.startsWith(API_KEY)) return `ApiKey ${p.slice(API_KEY.length)}`
  }
  if (typeof query.access_token === 'string') return `Bearer ${query.access_token}`
  if (typeof query.api_key === 'string') return `ApiKey ${query.api_key}`
  return undefined
}

/** `ws`'s `handleProtocols`: selects {@link LIVE_PROTOCOL} when offered, else no subprotocol; never a credential. */
export const selectLiveProtocol = (protocols: ReadonlySet<string>): string | false => (protocols.has(LIVE_PROTOCOL) ? LIVE_PROTOCOL : false)

const SECRET_NAMES = new Set(['access_token', 'api_key'])

const nameOf = (pair: string): string => {
  const raw = pair.split('=', 1)[0] ?? ''
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase()
  } catch {
    return raw.toLowerCase()
  }
}

/**
 * A URL fit for a log line: the value of every `access_token` and `api_key` parameter (however its
 * name is percent-encoded) replaced by `[redacted]`.
 */
export const redactUrl = (url: string): string => {
  const q = url.indexOf('?')
  if (q < 0) return url
  const hash = url.indexOf('#', q)
  const query = url.slice(q + 1, hash < 0 ? undefined : hash)
  const kept = query.split('&').map((pair) => (SECRET_NAMES.has(nameOf(pair)) ? `${pair.split('=', 1)[0] ?? ''}=[redacted]` : pair))
  return `${url.slice(0, q + 1)}${kept.join('&')}${hash < 0 ? '' : url.slice(hash)}`
}

/**
 * A pino request serializer for the gateway's logger (`serializers: { req: redactedRequest }`):
 * Fastify logs every request's URL before any hook runs, so this is the only place a credential in
 * the query string can be kept out of the log.
 */
export const redactedRequest = (req: { readonly method?: string; readonly url?: string; readonly hostname?: string; readonly ip?: string }): Record<string, unknown> => ({
  method: req.method,
  url: req.url === undefined ? undefined : redactUrl(req.url),
  hostname: req.hostname,
  remoteAddress: req.ip,
})
