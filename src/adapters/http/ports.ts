import type { RequestContext } from '../../application/observability/ports.js'
import type * as E from 'fp-ts/lib/Either.js'
import type { AppendResult } from '../../application/streams/appendResult.js'
import type { StreamPage } from '../../application/reading/readStream.js'
import type { AppendCommand } from '../../domain/streams/appendRequest.js'
import type { WireFailure } from '../nats/service/errorCodes.js'
import type { HttpCaller } from './gatewayAuth.js'

/** What a gateway route asks of the application: every failure a value, never a throw it expects. */
export type Answer<A> = Promise<E.Either<WireFailure, A>>

/**
 * The data side the gateway calls: the same application functions the NATS endpoints use (the
 * composition root builds it from `AllSource` and, in auth mode, the control plane's `guardAppend`).
 */
export interface GatewayData {
  /** Validates an append body for `tenant`/`stream` (the domain's rules and limits) into a command. */
  validateAppend(tenant: string, stream: string, body: unknown): E.Either<WireFailure, AppendCommand>
  /** Appends through the stream's actor; in auth mode through `guardAppend` (policies, quotas, rates) for `caller`. */
  /** `context`: the request's id (`X-Request-Id`) and `traceparent`, carried into the commit's headers. */
  append(command: AppendCommand, caller: HttpCaller, context?: RequestContext): Answer<AppendResult>
  read(tenant: string, stream: string, request: { readonly fromVersion?: number; readonly limit?: number }): Answer<StreamPage>
  /** The tenant's streams starting with `prefix`, in name order, after `after`, at most `limit` (1–1000). */
  streams(tenant: string, request: { readonly prefix?: string; readonly after?: string; readonly limit?: number }): Answer<{ readonly streams: readonly { readonly stream: string; readonly commits: number }[]; readonly next?: string }>
  /** A query (`{ id?, stream?, type?, since?, until?, fromOffset?, limit?, where? }`). */
  query(tenant: string, request: Readonly<Record<string, unknown>>): Answer<{ readonly events: readonly unknown[]; readonly nextOffset?: number }>
  /**
   * An analytics request `allsource.analytics.<tenant>.<kind>` (docs/analytics.md): the reply, and
   * how it was answered (`source`: `read-model` or `scan`; `fallback`: why a scan).
   */
  analytics(tenant: string, kind: string, body: unknown): Answer<{ readonly reply: unknown; readonly source?: string; readonly fallback?: string }>
  /** Every projection's status. */
  projections(): Answer<readonly unknown[]>
  /** One projection's status (`NOT_FOUND` for a projection that never ran). */
  projectionStatus(name: string): Answer<unknown>
  /** One key of a projection for `tenant`; with `minOffset`, first waits (at most `timeoutMs`) until the projection folded it. */
  projection(tenant: string, name: string, key: string, minOffset: number | undefined, timeoutMs: number | undefined): Answer<{ readonly key: string; readonly state: unknown; readonly offset: number }>
  /**
   * A projection operator's command, `status|pause|resume|rebuild` (body `{ fromOffset? }` for a
   * rebuild), the same call as `allsource.admin.projection.<name>.<command>`: stored in the
   * projection's control and carried out by the lease holder; progress shows in its status.
   */
  projectionCommand(name: string, command: string, body: unknown): Answer<unknown>
  /**
   * A pipeline admin command, `create|list|get|delete|pause|resume|rebuild` with the NATS body:
   * the same call as `allsource.admin.<tenant>.pipelines.<command>` (docs/pipelines.md).
   */
  pipeline(tenant: string, command: string, body: unknown): Answer<unknown>
  subscriptionCreate(tenant: string, name: string, stream: string | undefined, from: string | number | undefined): Answer<unknown>
  subscriptionPosition(tenant: string, name: string): Answer<unknown>
  subscriptionReset(tenant: string, name: string, to: string | number): Answer<unknown>
  subscriptionDelete(tenant: string, name: string): Answer<void>
  deadLetters(tenant: string, limit: number): Answer<readonly unknown[]>
  /** Re-drives dead letter `id` if it is `tenant`'s (another tenant's is `NOT_FOUND`). */
  redrive(tenant: string, id: number, contentType: string | undefined): Answer<unknown>
}

/** Admin and auth, mirroring the NATS admin API; absent when auth is off. Each checks `caller` again (defence in depth). */
export interface GatewayAdmin {
  tenant(command: string, body: unknown, caller: HttpCaller): Answer<unknown>
  key(tenant: string, command: string, body: unknown, caller: HttpCaller): Answer<unknown>
  user(tenant: string, command: string, body: unknown, caller: HttpCaller): Answer<unknown>
  policy(tenant: string, command: string, body: unknown, caller: HttpCaller): Answer<unknown>
  stats(tenant: string, caller: HttpCaller): Answer<unknown>
  audit(tenant: string, query: unknown, caller: HttpCaller): Answer<unknown>
  login(tenant: string, username: string, password: string): Answer<unknown>
  refresh(tenant: string, username: string, refreshToken: string): Answer<unknown>
  token(caller: HttpCaller): Answer<unknown>
  /** `allsource.auth.me`: who the caller is. */
  me(caller: HttpCaller): Answer<unknown>
  /** `allsource.auth.logout`: `{ refreshToken }` or `{ all: true }`, for a user caller. */
  logout(caller: HttpCaller, body: unknown): Answer<unknown>
  /** `allsource.auth.accept-invite`, public over HTTP: the invitation token is the credential (throttled like a password). */
  acceptInvite(tenant: string, username: string, body: unknown): Answer<unknown>
  /** `allsource.admin.signing-keys.rotate` (operator). */
  rotateSigningKey(caller: HttpCaller): Answer<unknown>
}

/** Liveness and readiness, for `/health` and `/ready`. */
export interface GatewayHealth {
  /** Ready: connected to NATS and serving. */
  ready(): boolean
  /** Why the processor is overloaded (it refused requests in the last second), or undefined: `/ready` answers 503 with it. */
  overloaded?(): string | undefined
  /** Extra facts for `/health` (versions, the NATS server). */
  info?(): Readonly<Record<string, unknown>>
}

/** The Prometheus registry, served at `/metrics` (another module builds it). */
export interface GatewayMetrics {
  readonly contentType: string
  text(): Promise<string>
}
