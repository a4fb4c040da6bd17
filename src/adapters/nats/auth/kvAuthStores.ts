import type { NatsConnection } from '@nats-io/transport-node'
import type { RefreshTokenStore, SigningKeyStore, UserStore } from '../../../application/auth/ports.js'
import { refreshTokenStoreOn, signingKeyStoreOn, userStoreOn } from '../../records/authStores.js'
import type { LogConsumers } from '../reading/logConsumer.js'
import { createKvRecordBucket } from './kvRecordBucket.js'

export interface KvAuthStoreOptions {
  /** The bucket name; each store has its own default. */
  readonly bucket?: string
  /** Default 1. */
  readonly replicas?: number
  /** The consumer budget listings take their one short-lived consumer from. Default: the store's own, of 2. */
  readonly consumers?: LogConsumers
}

const DAY_MS = 86_400_000

/**
 * Users in JetStream KV bucket `ALLSOURCE_USERS` (history 1, file storage): one key
 * `<tenant>.<username>`, the record as UTF-8 JSON. Creates and updates are KV compare-and-set.
 */
export const createKvUserStore = async (nc: NatsConnection, opts: KvAuthStoreOptions = {}): Promise<UserStore> =>
  userStoreOn(await createKvRecordBucket(nc, { ...opts, bucket: opts.bucket ?? 'ALLSOURCE_USERS' }))

/**
 * Refresh tokens in JetStream KV bucket `ALLSOURCE_REFRESH_TOKENS`. Every value is removed by the
 * server `maxAgeMs` after it was last written (default 31 days: the default 30-day refresh
 * lifetime plus a day). It must be at least the refresh token lifetime, so a revocation mark
 * outlives every token it revokes.
 */
export const createKvRefreshTokenStore = async (
  nc: NatsConnection,
  opts: KvAuthStoreOptions & { readonly maxAgeMs?: number } = {},
): Promise<RefreshTokenStore> =>
  refreshTokenStoreOn(
    await createKvRecordBucket(nc, { ...opts, bucket: opts.bucket ?? 'ALLSOURCE_REFRESH_TOKENS', maxAgeMs: opts.maxAgeMs ?? 31 * DAY_MS }),
  )

/** The signing key ring in JetStream KV bucket `ALLSOURCE_SIGNING_KEYS`, key `ring`; private keys as JWK `d`. */
export const createKvSigningKeyStore = async (nc: NatsConnection, opts: KvAuthStoreOptions = {}): Promise<SigningKeyStore> =>
  signingKeyStoreOn(await createKvRecordBucket(nc, { ...opts, bucket: opts.bucket ?? 'ALLSOURCE_SIGNING_KEYS' }))
