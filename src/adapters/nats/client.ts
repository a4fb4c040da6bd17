import { type NatsConnection, errors as natsErrors } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { validateStream, validateTenant } from '../../domain/streams/appendRequest.js'
import type { AppendResult } from '../../application/streams/appendResult.js'
import type { StreamPage } from '../../application/reading/readStream.js'
import { decodeMsgpack, encodeMsgpack } from '../codec/msgpack.js'
import { type ErrorCode, statusOf, toWireError, type WireError } from './errorCodes.js'

/** An event as a client sends it. */
export interface NewEvent {
  readonly type: string
  readonly payload: unknown
  readonly metadata?: Readonly<Record<string, unknown>>
  readonly id?: string
}

export interface AppendOptions {
  /** Default `"any"`. */
  readonly expectedVersion?: number | 'any' | 'no_stream' | 'exists'
  /** Idempotency key: a retry with the same id inside the duplicate window writes nothing. */
  readonly commitId?: string
  readonly timeoutMs?: number
}

/** A failure reply from AllSource, thrown by {@link AllSourceClient.append}. */
export class AllSourceError extends Error {
  override readonly name = 'AllSourceError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message)
  }
  get status(): number {
    return statusOf[this.code]
  }
}

export interface ReadOptions {
  /** First version to return; default 1. */
  readonly fromVersion?: number
  /** Most events in the page, 1..10000; default 1000. */
  readonly limit?: number
  readonly timeoutMs?: number
}

export interface AllSourceClient {
  /** Appends events as one atomic commit; rejects with {@link AllSourceError}. */
  append(tenant: string, stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>
  /** As `append`, with the failure as a value. */
  tryAppend(tenant: string, stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<E.Either<AllSourceError, AppendResult>>
  /** One page of a stream in version order; page on with `nextVersion`. Rejects with {@link AllSourceError}. */
  read(tenant: string, stream: string, options?: ReadOptions): Promise<StreamPage>
  /** As `read`, with the failure as a value. */
  tryRead(tenant: string, stream: string, options?: ReadOptions): Promise<E.Either<AllSourceError, StreamPage>>
}

const fromWire = (w: WireError): AllSourceError => {
  const { code, message, ...details } = w
  return new AllSourceError(code, message, details)
}

/**
 * A client of the append service over NATS (msgpack). Ids are checked before a subject is built,
 * so a bad id can never address another stream.
 */
export const createAllSourceClient = (
  nc: NatsConnection,
  options: { readonly prefix?: string; readonly timeoutMs?: number } = {},
): AllSourceClient => {
  const prefix = options.prefix ?? 'allsource'
  const timeout = options.timeoutMs ?? 10_000

  /** One msgpack request to `<prefix>.<verb>.<tenant>.<stream>`, ids checked first. */
  const call = async <T>(
    verb: string,
    tenant: string,
    stream: string,
    body: Record<string, unknown>,
    timeoutMs: number,
    commitId?: string,
  ): Promise<E.Either<AllSourceError, T>> => {
    const t = validateTenant(tenant)
    if (E.isLeft(t)) return E.left(fromWire(toWireError(t.left)))
    const s = validateStream(stream)
    if (E.isLeft(s)) return E.left(fromWire(toWireError(s.left)))
    try {
      const reply = await nc.request(`${prefix}.${verb}.${t.right}.${s.right}`, encodeMsgpack(body), { timeout: timeoutMs })
      const decoded = decodeMsgpack(reply.data) as { error?: WireError }
      return decoded.error !== undefined ? E.left(fromWire(decoded.error)) : E.right(decoded as T)
    } catch (e) {
      if (e instanceof natsErrors.NoRespondersError || (e instanceof natsErrors.RequestError && e.isNoResponders())) {
        return E.left(new AllSourceError('UNAVAILABLE', `no AllSource processor is serving ${verb}`))
      }
      if (e instanceof natsErrors.TimeoutError || (e instanceof Error && e.cause instanceof natsErrors.TimeoutError)) {
        return E.left(
          verb === 'append'
            ? new AllSourceError('UNAVAILABLE', 'append timed out; the commit may have been stored: retry with the same commitId', { commitId })
            : new AllSourceError('UNAVAILABLE', `${verb} timed out`),
        )
      }
      throw e
    }
  }

  const tryAppend: AllSourceClient['tryAppend'] = (tenant, stream, events, opts = {}) => {
    const body: Record<string, unknown> = { events }
    if (opts.expectedVersion !== undefined) body.expectedVersion = opts.expectedVersion
    if (opts.commitId !== undefined) body.commitId = opts.commitId
    return call<AppendResult>('append', tenant, stream, body, opts.timeoutMs ?? timeout, opts.commitId)
  }

  const tryRead: AllSourceClient['tryRead'] = (tenant, stream, opts = {}) => {
    const body: Record<string, unknown> = {}
    if (opts.fromVersion !== undefined) body.fromVersion = opts.fromVersion
    if (opts.limit !== undefined) body.limit = opts.limit
    return call<StreamPage>('read', tenant, stream, body, opts.timeoutMs ?? timeout)
  }

  const orThrow = async <T>(r: Promise<E.Either<AllSourceError, T>>): Promise<T> => {
    const x = await r
    if (E.isLeft(x)) throw x.left
    return x.right
  }

  return {
    tryAppend,
    tryRead,
    append: (tenant, stream, events, opts) => orThrow(tryAppend(tenant, stream, events, opts)),
    read: (tenant, stream, opts) => orThrow(tryRead(tenant, stream, opts)),
  }
}
