import type { RecordBucket } from '../records/recordBucket.js'

/** A {@link RecordBucket} in a Map, with one revision counter for the whole bucket (as a KV stream's sequence). Writes are atomic because they are synchronous. */
export interface MemoryRecordBucket extends RecordBucket {
  /** Stores raw bytes under a key as a new revision, bypassing every check (to test corrupt records). */
  putRaw(key: string, bytes: Uint8Array): number
}

export const createMemoryRecordBucket = (): MemoryRecordBucket => {
  const values = new Map<string, { readonly bytes: Uint8Array; readonly revision: number }>()
  let sequence = 0
  const put = (key: string, bytes: Uint8Array): number => {
    values.set(key, { bytes: new Uint8Array(bytes), revision: ++sequence })
    return sequence
  }
  return {
    get: (key) => Promise.resolve(values.get(key)),
    create: (key, bytes) => Promise.resolve(values.has(key) ? 'exists' : put(key, bytes)),
    update: (key, bytes, expected) => Promise.resolve(values.get(key)?.revision === expected ? put(key, bytes) : 'conflict'),
    keys: (prefix) => Promise.resolve([...values.keys()].filter((k) => k.startsWith(`${prefix}.`))),
    putRaw: put,
  }
}
