import * as E from 'fp-ts/lib/Either.js'
import { type KeyRing, newKeyRing, rotateKeyRing } from '../../domain/security/signingKeys.js'
import { type AppendError, unavailable } from '../streams/errors.js'
import type { Clock } from '../streams/ports.js'
import type { AuthStoreError, KeyRingSource, SigningKeyGenerator, SigningKeyStore } from './ports.js'

export interface KeyRingDeps {
  readonly store: SigningKeyStore
  readonly generator: SigningKeyGenerator
  readonly clock: Clock
}

/** How long a process trusts its copy of the ring before re-reading it: 60 s. */
export const DEFAULT_KEY_RING_CACHE_MS = 60_000

/**
 * How long a retired key keeps verifying by default: 17 minutes = the default 15-minute access
 * token lifetime + the 60-second ring cache (a process may sign with the old key that long after a
 * rotation elsewhere) + a minute of clock skew. Raise it with the token lifetime.
 */
export const DEFAULT_RETAIN_MS = 15 * 60_000 + DEFAULT_KEY_RING_CACHE_MS + 60_000

const ROTATE_ATTEMPTS = 10

const describe = (e: AuthStoreError): string =>
  e._tag === 'StoreUnavailable' ? e.message : e._tag === 'CorruptRecord' ? `corrupt key ring: ${e.message}` : e._tag

/**
 * The key ring as read from the store, cached for `cacheMs`. There is never a default key: with an
 * empty store the first reader generates one and stores it (create-if-absent, so of processes
 * starting together one key wins and all use it). A failed re-read keeps serving the cached ring;
 * with nothing cached it rejects.
 */
export const createKeyRingSource = (deps: KeyRingDeps, opts: { readonly cacheMs?: number } = {}): KeyRingSource => {
  const cacheMs = opts.cacheMs ?? DEFAULT_KEY_RING_CACHE_MS
  let cached: { readonly ring: KeyRing; readonly at: number } | undefined
  let inFlight: Promise<KeyRing> | undefined

  const read = async (): Promise<KeyRing> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const loaded = await deps.store.load()()
      if (E.isLeft(loaded)) throw new Error(`signing key ring unavailable: ${describe(loaded.left)}`)
      if (loaded.right !== undefined) return loaded.right.record
      const created = await deps.store.create(newKeyRing(await deps.generator.generate(deps.clock.now())))()
      if (E.isRight(created)) return created.right.record
      if (created.left._tag !== 'RecordExists') throw new Error(`signing key ring unavailable: ${describe(created.left)}`)
    }
    throw new Error('signing key ring: created and gone again three times')
  }
  const reload = (): Promise<KeyRing> =>
    (inFlight ??= read().then(
      (ring) => {
        cached = { ring, at: Date.now() }
        inFlight = undefined
        return ring
      },
      (e: unknown) => {
        inFlight = undefined
        if (cached !== undefined) return cached.ring
        throw e
      },
    ))

  return {
    current: () => (cached !== undefined && Date.now() - cached.at < cacheMs ? Promise.resolve(cached.ring) : reload()),
    reload,
  }
}

/** What a rotation did: the new signing key, and the retired keys still verifying. No key material. */
export interface Rotated {
  readonly active: string
  readonly retired: readonly { readonly kid: string; readonly verifyUntil?: string }[]
}

/**
 * Rotates the signing key: a fresh key signs from now on; the previous one keeps verifying for
 * `retainMs` (default {@link DEFAULT_RETAIN_MS}); retired keys past their time are dropped. No
 * downtime: tokens already issued stay valid, and other processes pick the new key up at their
 * next ring read (a verifier meeting the new `kid` re-reads at once). Compare-and-set with retry,
 * so concurrent rotations each apply once.
 */
export const rotateSigningKey =
  (deps: KeyRingDeps, opts: { readonly retainMs?: number } = {}) =>
  async (): Promise<E.Either<AppendError, Rotated>> => {
    for (let attempt = 0; attempt < ROTATE_ATTEMPTS; attempt++) {
      const now = deps.clock.now()
      const loaded = await deps.store.load()()
      if (E.isLeft(loaded)) return E.left(unavailable(`signing key ring: ${describe(loaded.left)}`))
      const fresh = await deps.generator.generate(now)
      const written =
        loaded.right === undefined
          ? await deps.store.create(newKeyRing(fresh))()
          : await deps.store.update(rotateKeyRing(loaded.right.record, fresh, now, opts.retainMs ?? DEFAULT_RETAIN_MS), loaded.right.revision)()
      if (E.isRight(written)) {
        const ring = written.right.record
        return E.right({
          active: ring.active.kid,
          retired: ring.retired.map((k) => ({ kid: k.kid, ...(k.verifyUntil !== undefined ? { verifyUntil: k.verifyUntil } : {}) })),
        })
      }
      if (written.left._tag !== 'RevisionConflict' && written.left._tag !== 'RecordExists') {
        return E.left(unavailable(`signing key ring: ${describe(written.left)}`))
      }
    }
    return E.left(unavailable(`signing key ring: ${ROTATE_ATTEMPTS} conflicting rotations in a row`))
  }
