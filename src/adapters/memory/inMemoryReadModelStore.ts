import type { Entry, Known, ReadModelStore, WriteOutcome } from '../../application/projections/ports.js'

/** A read model in memory, for tests and for running folds without a server. */
export interface InMemoryReadModelStore<S> extends ReadModelStore<S> {
  /** Every key with an entry, and its entry. */
  entries(): ReadonlyMap<string, Entry<S>>
  /** Removes a key (its revision moves on, as a KV delete does). */
  delete(key: string): void
}

/**
 * Revisions are one counter for the whole store, as the sequence of a KV bucket's stream is: every
 * successful write (or delete) takes the next one.
 */
export const createInMemoryReadModelStore = <S>(): InMemoryReadModelStore<S> => {
  const keys = new Map<string, Known<S>>()
  let sequence = 0
  return {
    isEmpty: async () => keys.size === 0,
    get: async (key) => keys.get(key) ?? { revision: 0 },
    async put(key, entry, expectedRevision): Promise<WriteOutcome> {
      const now = keys.get(key)?.revision ?? 0
      if (now !== expectedRevision) return { _tag: 'Fenced', message: `wrong last sequence: ${now}, expected ${expectedRevision}` }
      keys.set(key, { entry, revision: ++sequence })
      return { _tag: 'Stored', revision: sequence }
    },
    entries: () => new Map([...keys].flatMap(([k, v]) => (v.entry !== undefined ? [[k, v.entry] as const] : []))),
    delete(key) {
      if (keys.get(key)?.entry !== undefined) keys.set(key, { revision: ++sequence })
    },
  }
}
