import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { internal, type AppendError } from '../../../application/streams/errors.js'
import { badRequest, invalidId } from '../../../domain/streams/errors.js'
import { toWireError, type WireError, type WireFailure } from './errorCodes.js'
import { failureOf } from './failureOf.js'
import { inFlightLimitOf } from './inFlightLimit.js'
import { createRefusalReplies } from './refusalReply.js'
import { type EndpointStats, type MicroEndpoint, newEndpointStats } from './microDiscovery.js'
import { decodeBody, formatOf, REQUEST_ID_HEADER, replyEncodedError, replyError, replyOk, type WireFormat } from './wireCodec.js'
import { subjects } from '../subjects.js'
import { isRequestId, type Logger } from '../../../application/observability/ports.js'
import { newRequestId } from '../../system/requestIds.js'

/** The W3C trace context header on requests (and on commits). */
export const TRACEPARENT_HEADER = 'traceparent'

/** What every endpoint of one service shares: subjects, queue group, and the auth-mode checks. */
export interface EndpointBase {
  readonly prefix: string
  readonly queue: string
  /** Auth mode: tenant-scoped endpoints drop requests whose reply is outside `_INBOX.<tenant>.`. */
  readonly tenantReplies?: boolean
  /** Auth mode: whether a tenant may be served now (TENANT_NOT_FOUND, TENANT_SUSPENDED). */
  readonly admit?: (tenant: string) => Promise<E.Either<AppendError, unknown>>
  /** Told of every request dropped unanswered (see {@link DroppedRequest}); must not throw (a throw is swallowed). */
  readonly onDropped?: (d: DroppedRequest) => void
  /** Where failures answered 5xx (with their request id) and, at debug, slow requests are logged. */
  readonly logger?: Logger
}

/** A request slower than this is logged at debug level (with its request id). */
export const SLOW_REQUEST_MS = 500

/** Where a request came from, as far as the message tells: its subject and reply subject (never its body). */
export interface RequestInfo {
  readonly subject: string
  readonly reply?: string
  /**
   * The request's id: the client's `AllSource-Request-Id` header when it is 1–128 printable ASCII
   * characters without spaces, else one made here. The reply carries it back in the same header.
   */
  readonly requestId: string
  /** The client's W3C `traceparent` header, if any (unchecked text: the tracer parses it). */
  readonly traceparent?: string
}

/**
 * A request an endpoint dropped unanswered, and why: `subject`, a message whose subject is not the
 * endpoint's (a JetStream delivery keeps the stored subject); `reply`, auth mode, a reply outside
 * `_INBOX.<tenant>.`; `tenant`, auth mode, a subject whose ids do not parse (no tenant to answer
 * to). `tenant` is the subject's tenant when it parsed, `reply` the reply subject asked for
 * (untrusted text).
 */
export interface DroppedRequest {
  readonly cause: 'subject' | 'reply' | 'tenant'
  readonly endpoint: string
  readonly subject: string
  readonly tenant?: string
  readonly reply?: string
}

/**
 * Handles one request: the subject tokens after `<prefix>.<verb>.`, the decoded body, the reply's
 * encoding, and the message's subject and reply subject.
 */
export type Handler = (
  tokens: readonly string[],
  body: unknown,
  format: WireFormat,
  request: RequestInfo,
) => Promise<E.Either<WireFailure, unknown>> | E.Either<WireFailure, unknown>

/** The client's request id when it is usable as is, else a fresh one. */
export const requestIdOf = (msg: Msg): string => {
  const given = msg.headers?.get(REQUEST_ID_HEADER)
  return isRequestId(given) ? given : newRequestId()
}

/**
 * The principal of a tenant reply subject `_INBOX.<tenant>.<principal>.…` (an API key's id, `_op`
 * for the operator), or undefined. Meaningful only in auth mode, where NATS confines each
 * identity's inbox to its own principal (`natsGrants.ts`) and the endpoint drops other replies.
 */
export const principalOfReply = (tenant: string, reply: string | undefined): string | undefined => {
  const root = `_INBOX.${tenant}.`
  if (reply === undefined || !reply.startsWith(root)) return undefined
  const end = reply.indexOf('.', root.length)
  const principal = end === -1 ? '' : reply.slice(root.length, end)
  return principal === '' ? undefined : principal
}

/**
 * Where an endpoint listens when its ids are not all at the end of the subject (e.g.
 * `allsource.admin.<tenant>.keys.<command>`): the subject announced to micro discovery, the
 * subjects subscribed, and how a received subject gives the handler's tokens: the tokens, an error
 * to answer, or `'ignore'` for a subject that is another endpoint's to answer (left unanswered).
 */
export interface EndpointRoute {
  readonly announced: string
  readonly listen: readonly string[]
  /** `reply` is the request's reply subject, for an endpoint whose ids are in it (`allsource.auth.token`). */
  readonly tokensOf: (subject: string, reply?: string) => E.Either<AppendError, readonly string[]> | 'ignore'
}

/** A subject attached to an endpoint with {@link Endpoint.attach}. */
export interface AttachedSubject {
  /** Unsubscribes; resolves once the server has the unsubscribe and what it delivered before is handed to the endpoint. */
  drain(): Promise<void>
}

export interface Endpoint {
  readonly micro: MicroEndpoint
  readonly stats: EndpointStats
  /** Requests dropped unanswered: a foreign subject, or (auth mode) a reply outside the tenant's inbox. */
  readonly dropped: () => number
  /**
   * Also listens on `subject` in queue group `queue` (the endpoint's routed subjects, see its
   * `routedTokens` option), until the returned `drain` (which resolves once the server has the
   * unsubscribe and the messages already delivered are handed to the endpoint) or `stop()`.
   * Resolves once the server has the subscription. `gate`, when given, is asked synchronously for
   * every request on `subject` before anything else: a failure it returns is answered at once (not
   * logged, nothing decoded) instead of serving the request (partition routing's self-fencing:
   * while it drains a fenced subscription, what still arrives is answered `UNAVAILABLE`).
   */
  attach(subject: string, queue: string, gate?: () => WireFailure | undefined): Promise<AttachedSubject>
  /** Stops taking requests and waits until those already received are answered. */
  stop(): Promise<void>
}

/**
 * One request-reply endpoint on `<prefix>.<verb>.*…` in a queue group: decodes msgpack or JSON
 * (by `Content-Type`), answers in the same encoding, maps failures through the error table with
 * the micro error headers, keeps micro stats. Nothing a client sends can throw out of it.
 *
 * It listens on `<prefix>.<verb>` and `<prefix>.<verb>.>` (announced as `<prefix>.<verb>.*…`), so a
 * request with the wrong number of tokens (an id with a `.` in it) is answered `INVALID_ID`
 * instead of "no responders".
 */
export const startEndpoint = (
  nc: NatsConnection,
  o: {
    readonly prefix: string
    readonly verb: string
    /** The micro endpoint name (default: the verb). */
    readonly name?: string
    readonly tokens: number
    readonly queue: string
    readonly emptyBody?: 'allowed'
    /**
     * Auth mode, on an endpoint whose first token is a tenant: a request whose reply subject is
     * not under `_INBOX.<that tenant>.` is dropped unanswered (answering would write into a
     * subject the sender may not publish to; DESIGN.md, "Security").
     */
    readonly tenantReplies?: boolean
    /** Listen elsewhere than `<prefix>.<verb>.*…` (then `verb` and `tokens` only name the endpoint). */
    readonly route?: EndpointRoute
    /** Told of every request dropped unanswered, after it is counted in `dropped()`; a throw is swallowed. */
    readonly onDropped?: (d: DroppedRequest) => void
    readonly logger?: Logger
    /**
     * The tokens after the verb of a subject attached with `attach` (a routed append,
     * `allsource.routed.<tenant>.<stream>.<p>`), or undefined for a subject that is not one;
     * they are checked like the default subject's.
     */
    readonly routedTokens?: (subject: string) => readonly string[] | undefined
  },
  handle: Handler,
): Endpoint => {
  const { base, announced: defaultAnnounced, listen: defaultListen } = subjects(o.prefix).endpoint(o.verb, o.tokens)
  const skip = base.length + 1
  const routedTokens = o.routedTokens
  const tokensAfterVerb = (subject: string): E.Either<AppendError, readonly string[]> => {
    const routed = routedTokens?.(subject)
    const rest = subject.slice(skip)
    const tokens = routed ?? (rest === '' ? [] : rest.split('.'))
    return tokens.length === o.tokens
      ? E.right(tokens)
      : E.left(invalidId('subject', `${base} takes ${o.tokens} subject tokens after it, got ${tokens.length}: an id may not contain "."`))
  }
  const subject = o.route?.announced ?? defaultAnnounced
  const listen = o.route?.listen ?? defaultListen
  const tokensOf = o.route?.tokensOf ?? tokensAfterVerb
  const stats = newEndpointStats()
  const limit = inFlightLimitOf(nc)
  const refusals = createRefusalReplies()
  let inFlight = 0
  let dropped = 0
  let idle: (() => void) | undefined

  const endpointName = o.name ?? o.verb
  const logger = o.logger

  // Failures are logged at most once a second per endpoint (an outage must not flood the log); the
  // next line says how many went unlogged. Metrics count every one.
  let lastLogged = 0
  let unlogged = 0
  const logFailure = (msg: Msg, wire: WireError, requestId: string): void => {
    if (logger === undefined) return
    const now = Date.now()
    if (now - lastLogged < 1_000) {
      unlogged++
      return
    }
    const more = unlogged > 0 ? ` (and ${unlogged} more failures since the last line)` : ''
    lastLogged = now
    unlogged = 0
    logger.warn(`${endpointName} answered ${wire.code}: ${wire.message}${more}`, { requestId, endpoint: endpointName, subject: msg.subject, code: wire.code })
  }

  const fail = (msg: Msg, format: WireFormat, e: WireFailure, requestId: string, log = true) => {
    stats.num_errors++
    const wire = toWireError(e)
    stats.last_error = `${wire.code}: ${wire.message}`
    // Server-side failures are worth a line; client errors (4xx) are the client's to read.
    if (log && (wire.code === 'INTERNAL' || wire.code === 'UNAVAILABLE')) logFailure(msg, wire, requestId)
    replyError(msg, format, wire, requestId)
  }

  /**
   * Past the processor's in-flight cap: UNAVAILABLE at once, before the body is even decoded
   * (counted, not logged), with a reply built once for the same figures (see `refusalReply.ts`).
   */
  const refuse = (msg: Msg): void => {
    try {
      const format = formatOf(msg)
      const r = refusals.of(format, limit.inFlight, limit.limit)
      stats.num_errors++
      stats.last_error = r.lastError
      replyEncodedError(msg, format, r.error, r.body, requestIdOf(msg))
    } catch {
      // the connection closed under us: nothing left to answer on
    }
  }

  /** Answers one request; never rejects (a throwing handler is answered UNAVAILABLE for an infrastructure failure, else INTERNAL). */
  const serve = async (msg: Msg, tokens: E.Either<AppendError, readonly string[]>): Promise<void> => {
    const started = performance.now()
    const format = formatOf(msg)
    const requestId = requestIdOf(msg)
    try {
      if (E.isLeft(tokens)) return fail(msg, format, tokens.left, requestId)
      const body = msg.data.length === 0 && o.emptyBody === 'allowed' ? { ok: true as const, value: undefined } : decodeBody(format, msg.data)
      if (!body.ok) return fail(msg, format, badRequest(body.message), requestId)
      const traceparent = msg.headers?.get(TRACEPARENT_HEADER)
      const info: RequestInfo = {
        subject: msg.subject,
        requestId,
        ...(msg.reply !== undefined && msg.reply !== '' ? { reply: msg.reply } : {}),
        ...(traceparent !== undefined && traceparent !== '' ? { traceparent } : {}),
      }
      const r = await handle(tokens.right, body.value, format, info)
      if (r._tag === 'Right') replyOk(msg, format, r.right, requestId)
      else fail(msg, format, r.left, requestId)
    } catch (e) {
      try {
        fail(msg, format, failureOf(e), requestId)
      } catch {
        // the connection closed under us: nothing left to answer on
      }
    } finally {
      const ms = performance.now() - started
      stats.processing_time += Math.round(ms * 1e6)
      limit.release()
      if (--inFlight === 0 && idle !== undefined) idle()
      if (ms >= SLOW_REQUEST_MS && logger?.debugEnabled === true) logger.debug(`slow ${endpointName}: ${Math.round(ms)} ms`, { requestId, endpoint: endpointName, subject: msg.subject, ms: Math.round(ms) })
    }
  }

  /**
   * Requests never answered: a message whose subject is not this endpoint's (JetStream delivering
   * a stored message onto it keeps the stored subject), and, in auth mode, a reply outside the
   * tenant's inbox (the tenant is the first id; a subject whose ids do not parse has no tenant to
   * answer to, so it is dropped too).
   */
  const misdirected = (msg: Msg, tokens: E.Either<AppendError, readonly string[]>): DroppedRequest['cause'] | undefined => {
    if (o.route === undefined && !(msg.subject === base || msg.subject.startsWith(`${base}.`)) && routedTokens?.(msg.subject) === undefined) return 'subject'
    if (o.tenantReplies !== true) return undefined
    const tenant = E.isRight(tokens) ? tokens.right[0] : undefined
    if (tenant === undefined || tenant === '') return 'tenant'
    return msg.reply === undefined || !msg.reply.startsWith(`_INBOX.${tenant}.`) ? 'reply' : undefined
  }

  const callback = (_err: Error | null, msg: Msg) => handleMessage(msg, undefined)
  const handleMessage = (msg: Msg, gate: (() => WireFailure | undefined) | undefined): void => {
    const tokens = tokensOf(msg.subject, msg.reply)
    if (tokens === 'ignore') return
    const cause = misdirected(msg, tokens)
    if (cause !== undefined) {
      dropped++
      if (o.onDropped !== undefined) {
        const tenant = E.isRight(tokens) ? tokens.right[0] : undefined
        try {
          o.onDropped({
            cause,
            endpoint: o.name ?? o.verb,
            subject: msg.subject,
            ...(tenant !== undefined && tenant !== '' ? { tenant } : {}),
            ...(msg.reply !== undefined && msg.reply !== '' ? { reply: msg.reply } : {}),
          })
        } catch {
          // a reporting callback must not break the endpoint
        }
      }
      return
    }
    stats.num_requests++
    const closed = gate?.()
    if (closed !== undefined) {
      try {
        return fail(msg, formatOf(msg), closed, requestIdOf(msg), false)
      } catch {
        return // the connection closed under us
      }
    }
    if (!limit.tryAcquire()) return refuse(msg)
    inFlight++
    serve(msg, tokens).catch(() => undefined) // serve answers its own failures
  }
  // `<prefix>.<verb>.>` needs one token at least: the bare `<prefix>.<verb>` is answered too.
  const subs: Subscription[] = listen.map((s) => nc.subscribe(s, { queue: o.queue, callback }))
  const attached = new Set<Subscription>()

  return {
    stats,
    dropped: () => dropped,
    micro: { name: o.name ?? o.verb, subject, queue_group: o.queue, stats },
    async attach(s, queue, gate) {
      const sub = nc.subscribe(s, { queue, callback: gate === undefined ? callback : (_e, msg) => handleMessage(msg, gate) })
      attached.add(sub)
      await nc.flush()
      return {
        drain: async () => {
          if (!attached.delete(sub)) return
          await sub.drain().catch(() => undefined) // a closed connection has nothing left to drain
        },
      }
    },
    async stop() {
      const routed = [...attached]
      attached.clear()
      await Promise.all([...subs, ...routed].map((s) => s.drain()))
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve))
    },
  }
}
