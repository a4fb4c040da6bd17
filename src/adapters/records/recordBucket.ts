import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { AuthStoreError, CorruptRecord, Stored } from '../../application/auth/ports.js'

/**
 * A bucket of byte values under string keys with revisions: what a JetStream KV bucket offers, and
 * what an in-memory map imitates, so one implementation of each auth store runs on both.
 * Methods reject when the backend fails; {@link typedRecords} turns that into `StoreUnavailable`.
 */
export interface RecordBucket {
  /** The live value and its revision (> 0), or `undefined` for a key never written or deleted. */
  get(key: string): Promise<{ readonly bytes: Uint8Array; readonly revision: number } | undefined>
  /** Writes only if the key has no live value; `exists` otherwise. */
  create(key: string, bytes: Uint8Array): Promise<number | 'exists'>
  /** Writes only if the key's revision is still `expected`; `conflict` otherwise. */
  update(key: string, bytes: Uint8Array, expected: number): Promise<number | 'conflict'>
  /** The live keys under `<prefix>.`, in any order. */
  keys(prefix: string): Promise<readonly string[]>
}

/** How one kind of record is stored: JSON of `encode`, checked by `decode` (which also checks the record belongs under `key`). */
export interface RecordFormat<A> {
  readonly encode: (a: A) => unknown
  readonly decode: (key: string, json: unknown) => E.Either<string, A>
}

/** Typed, total access to one kind of record in a bucket: every failure is an {@link AuthStoreError} value. */
export interface TypedRecords<A> {
  get(key: string): TE.TaskEither<AuthStoreError, Stored<A> | undefined>
  create(key: string, a: A): TE.TaskEither<AuthStoreError, Stored<A>>
  update(key: string, a: A, expectedRevision: number): TE.TaskEither<AuthStoreError, Stored<A>>
  /** Every record under `<prefix>.`, sorted by key; undecodable ones reported, not fatal. */
  list(prefix: string): TE.TaskEither<AuthStoreError, { readonly records: readonly Stored<A>[]; readonly corrupt: readonly CorruptRecord[] }>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

const unavailable = (e: unknown): E.Either<AuthStoreError, never> =>
  E.left({ _tag: 'StoreUnavailable', message: e instanceof Error ? e.message : String(e) })

export const typedRecords = <A>(bucket: RecordBucket, format: RecordFormat<A>): TypedRecords<A> => {
  const decode = (key: string, bytes: Uint8Array, revision: number): E.Either<CorruptRecord, Stored<A>> => {
    let json: unknown
    try {
      json = JSON.parse(decoder.decode(bytes))
    } catch (e) {
      return E.left({ _tag: 'CorruptRecord', key, revision, message: `not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}` })
    }
    const r = format.decode(key, json)
    return E.isLeft(r) ? E.left({ _tag: 'CorruptRecord', key, revision, message: r.left }) : E.right({ record: r.right, revision })
  }
  const bytesOf = (a: A): Uint8Array => encoder.encode(JSON.stringify(format.encode(a)))
  const load = async (key: string): Promise<E.Either<AuthStoreError, Stored<A> | undefined>> => {
    try {
      const v = await bucket.get(key)
      return v === undefined ? E.right(undefined) : decode(key, v.bytes, v.revision)
    } catch (e) {
      return unavailable(e)
    }
  }
  return {
    get: (key) => () => load(key),
    create: (key, a) => async () => {
      try {
        const r = await bucket.create(key, bytesOf(a))
        return r === 'exists' ? E.left({ _tag: 'RecordExists', key }) : E.right({ record: a, revision: r })
      } catch (e) {
        return unavailable(e)
      }
    },
    update: (key, a, expected) => async () => {
      if (!(expected > 0)) return E.left({ _tag: 'RevisionConflict', key, expected })
      try {
        const r = await bucket.update(key, bytesOf(a), expected)
        return r === 'conflict' ? E.left({ _tag: 'RevisionConflict', key, expected }) : E.right({ record: a, revision: r })
      } catch (e) {
        return unavailable(e)
      }
    },
    list: (prefix) => async () => {
      let keys: readonly string[]
      try {
        keys = [...(await bucket.keys(prefix))].sort()
      } catch (e) {
        return unavailable(e)
      }
      const records: Stored<A>[] = []
      const corrupt: CorruptRecord[] = []
      for (const key of keys) {
        const r = await load(key)
        if (E.isLeft(r)) {
          if (r.left._tag !== 'CorruptRecord') return r
          corrupt.push(r.left)
        } else if (r.right !== undefined) records.push(r.right)
      }
      return E.right({ records, corrupt })
    },
  }
}
