import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { AuthStoreError, RefreshTokenStore, SigningKeyStore, UserStore } from '../../application/auth/ports.js'
import { KEY_RING_KEY, familyMarkKey, keyRingFormat, markFormat, refreshTokenFormat, refreshTokenKey, userFormat, userKey, userMarkKey } from './formats.js'
import { type RecordBucket, typedRecords } from './recordBucket.js'

/** The {@link UserStore} over a bucket: one record per `<tenant>.<username>`, create-only-if-absent and compare-and-set updates. */
export const userStoreOn = (bucket: RecordBucket): UserStore => {
  const records = typedRecords(bucket, userFormat)
  return {
    get: (tenant, username) => records.get(userKey(tenant, username)),
    create: (record) => records.create(userKey(record.tenant, record.username), record),
    update: (record, expected) => records.update(userKey(record.tenant, record.username), record, expected),
    list: (tenant) => pipe(records.list(tenant), TE.map(({ records: users, corrupt }) => ({ users, corrupt }))),
  }
}

const MARK_ATTEMPTS = 10

/**
 * The {@link RefreshTokenStore} over a bucket: token records under `t.<tokenId>`, a family's
 * revocation under `f.<familyId>` (first instant kept), a user's under `u.<tenant>.<username>`
 * (latest instant kept, by compare-and-set).
 */
export const refreshTokenStoreOn = (bucket: RecordBucket): RefreshTokenStore => {
  const tokens = typedRecords(bucket, refreshTokenFormat)
  const marks = typedRecords(bucket, markFormat)
  const markAt = (key: string) => pipe(marks.get(key), TE.map((m) => m?.record.at))
  return {
    get: (tokenId) =>
      pipe(
        tokens.get(refreshTokenKey(tokenId)),
        TE.flatMap((stored) =>
          stored === undefined
            ? TE.right(undefined)
            : pipe(
                TE.Do,
                TE.apS('family', markAt(familyMarkKey(stored.record.familyId))),
                TE.apS('user', markAt(userMarkKey(stored.record.tenant, stored.record.username))),
                TE.map(({ family, user }) => ({
                  record: stored.record,
                  revision: stored.revision,
                  ...(family !== undefined ? { familyRevokedAt: family } : {}),
                  ...(user !== undefined ? { userRevokedAt: user } : {}),
                })),
              ),
        ),
      ),
    create: (record) => tokens.create(refreshTokenKey(record.tokenId), record),
    update: (record, expected) => tokens.update(refreshTokenKey(record.tokenId), record, expected),
    revokeFamily: (familyId, at) =>
      pipe(
        marks.create(familyMarkKey(familyId), { at }),
        TE.map(() => undefined),
        TE.orElse((e) => (e._tag === 'RecordExists' ? TE.right(undefined) : TE.left(e))),
      ),
    revokeUser: (tenant, username, at) => async () => {
      const key = userMarkKey(tenant, username)
      for (let attempt = 0; attempt < MARK_ATTEMPTS; attempt++) {
        const current = await marks.get(key)()
        if (E.isLeft(current)) return current
        const write =
          current.right === undefined
            ? await marks.create(key, { at })()
            : Date.parse(current.right.record.at) >= Date.parse(at)
              ? E.right(undefined)
              : await marks.update(key, { at }, current.right.revision)()
        if (E.isRight(write)) return E.right(undefined)
        if (write.left._tag !== 'RecordExists' && write.left._tag !== 'RevisionConflict') return write
      }
      return E.left<AuthStoreError>({ _tag: 'StoreUnavailable', message: `revoking ${key}: ${MARK_ATTEMPTS} conflicting writers in a row` })
    },
  }
}

/** The {@link SigningKeyStore} over a bucket: the whole ring under one key, compare-and-set. */
export const signingKeyStoreOn = (bucket: RecordBucket): SigningKeyStore => {
  const rings = typedRecords(bucket, keyRingFormat)
  return {
    load: () => rings.get(KEY_RING_KEY),
    create: (ring) => rings.create(KEY_RING_KEY, ring),
    update: (ring, expected) => rings.update(KEY_RING_KEY, ring, expected),
  }
}

