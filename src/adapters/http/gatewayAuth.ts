import type * as E from 'fp-ts/lib/Either.js'
import type { Authenticated } from '../../application/auth/authenticate.js'
import type { AppendError } from '../../application/streams/errors.js'
import type { Operation } from '../../domain/security/roles.js'

/**
 * Stand-in of the gateway's `gatewayAuth.ts` (branch `gateway` owns it; its version replaces this
 * one at merge). Who asks, or undefined when auth is off.
 */
export type HttpCaller = Authenticated | undefined

/** Checks an `Authorization` header (`Bearer <access token>` or `ApiKey <key>`) for `operation` on `tenant`. */
export type AuthorizeHttp = (authorization: string | undefined, tenant: string, operation: Operation) => Promise<E.Either<AppendError, HttpCaller>>
