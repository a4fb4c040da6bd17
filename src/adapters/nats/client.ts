import { type NatsConnection, errors as natsErrors } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { validateStream, validateTenant } from '../../domain/streams/appendRequest.js'
import type { AppendResult } from '../../application/streams/appendResult.js'
import { decodeMsgpack, encodeMsgpack } from '../codec/msgpack.js'
import { type ErrorCode, statusOf, toWireError, type WireError } from './errorCodes.js'
import { subjects } from './subjects.js'

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

export interface AllSourceClient {
  /** Appends events as one atomic commit; rejects with {@link AllSourceError}. */
  append(tenant: string, stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>
  /** As `append`, with the failure as a value. */
  tryAppend(tenant: string, stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<E.Either<AllSourceError, AppendResult>>
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
  const subj = subjects(options.prefix)
  const timeout = options.timeoutMs ?? 10_000

  const tryAppend: AllSourceClient['tryAppend'] = async (tenant, stream, events, opts = {}) => {
    const t = validateTenant(tenant)
    if (E.isLeft(t)) return E.left(fromWire(toWireError(t.left)))
    const s = validateStream(stream)
    if (E.isLeft(s)) return E.left(fromWire(toWireError(s.left)))
    const body: Record<string, unknown> = { events }
    if (opts.expectedVersion !== undefined) body.expectedVersion = opts.expectedVersion
    if (opts.commitId !== undefined) body.commitId = opts.commitId
    try {
      const reply = await nc.request(subj.append(t.right, s.right), encodeMsgpack(body), { timeout: opts.timeoutMs ?? timeout })
      const decoded = decodeMsgpack(reply.data) as { error?: WireError } & AppendResult
      return decoded.error !== undefined ? E.left(fromWire(decoded.error)) : E.right(decoded)
    } catch (e) {
      if (e instanceof natsErrors.NoRespondersError || (e instanceof natsErrors.RequestError && e.isNoResponders())) {
        return E.left(new AllSourceError('UNAVAILABLE', 'no AllSource processor is serving appends'))
      }
      if (e instanceof natsErrors.TimeoutError || (e instanceof Error && e.cause instanceof natsErrors.TimeoutError)) {
        return E.left(
          new AllSourceError('UNAVAILABLE', 'append timed out; the commit may have been stored: retry with the same commitId', {
            commitId: opts.commitId,
          }),
        )
      }
      throw e
    }
  }

  return {
    tryAppend,
    async append(tenant, stream, events, opts) {
      const r = await tryAppend(tenant, stream, events, opts)
      if (E.isLeft(r)) throw r.left
      return r.right
    },
  }
}
