import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { bucketName, durableName, type ReadModelPointer } from '../../../domain/projections/operations.js'
import { decodeMsgpack } from '../../codec/msgpack.js'
import { openProjectionCatalog, type ProjectionCatalog } from './projectionControl.js'
import { type Entry, LOG_STREAM } from './projectionFold.js'
import { createLogConsumers, type LogConsumers } from '../reading/logConsumer.js'
import { listKvKeys } from '../log/kvKeys.js'

export interface ProjectionEntry {
  readonly key: string
  readonly state: unknown
  readonly offset: number
}

export interface ProjectionReader {
  readonly catalog: ProjectionCatalog
  /** Where the projection's read model is now, or undefined if it never ran. */
  pointer(name: string): Promise<ReadModelPointer | undefined>
  /** One key of the active read model, or undefined. */
  get(name: string, tenant: string, key: string): Promise<ProjectionEntry | undefined>
  /** A tenant's keys in lexical order after `after`, at most `limit`; `next` when there are more. */
  keys(name: string, tenant: string, page: { readonly after?: string; readonly limit: number }): Promise<{ readonly keys: readonly string[]; readonly next?: string }>
  /** Offset of the last commit the active read model has folded (its consumer's ack floor). */
  checkpoint(name: string): Promise<number>
  /** Waits until the projection has folded `offset` or `timeoutMs` passes; resolves with the checkpoint seen last. */
  waitFor(name: string, offset: number, timeoutMs: number): Promise<{ readonly reached: boolean; readonly checkpoint: number }>
  close(): void
}

/**
 * Reads projections from any process: the read-model pointers are followed with a KV watch, so a
 * rebuild's switch-over is seen within milliseconds; a read that races with the retirement of the
 * old generation looks the pointer up again and retries once.
 */
export const createProjectionReader = async (
  nc: NatsConnection,
  /** Told when the pointer watch ended or failed (it is reopened, and delivers every pointer again). */
  onError?: (message: string) => void,
  /**
   * The processor's consumer budget: listing keys reads the bucket through a consumer, taken from
   * here and deleted when the listing ends (default: a budget of the reader's own).
   */
  consumers: LogConsumers = createLogConsumers(nc),
  /** Replicas of the control bucket, should the reader be the first to create it (default 1). */
  replicas = 1,
): Promise<ProjectionReader> => {
  const catalog = await openProjectionCatalog(nc, { consumers, replicas })
  const jsm = await jetstreamManager(nc)
  const pointers = new Map<string, ReadModelPointer>()
  const buckets = new Map<string, Promise<KV>>()
  const stopWatch = await catalog.watchPointers(
    (name, p) => pointers.set(name, p),
    (e) => onError?.(`projection pointer watch ended, reopening it: ${e instanceof Error ? e.message : String(e)}`),
  )

  const pointer = async (name: string, fresh = false): Promise<ReadModelPointer | undefined> => {
    const known = fresh ? undefined : pointers.get(name)
    if (known !== undefined) return known
    const p = await catalog.pointer(name)
    if (p !== undefined) pointers.set(name, p)
    return p
  }

  const bucket = (name: string, p: ReadModelPointer): Promise<KV> => {
    const b = bucketName(name, p.generation)
    let kv = buckets.get(b)
    if (kv === undefined) {
      kv = new Kvm(nc).open(b)
      kv.catch(() => buckets.delete(b))
      buckets.set(b, kv)
    }
    return kv
  }

  /** Runs `read` on the active read model; once more with a fresh pointer if that one is gone. */
  const withModel = async <T>(name: string, empty: T, read: (kv: KV, bucket: string) => Promise<T>): Promise<T> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const p = await pointer(name, attempt > 0)
      if (p === undefined) return empty
      try {
        return await read(await bucket(name, p), bucketName(name, p.generation))
      } catch (err) {
        buckets.delete(bucketName(name, p.generation))
        if (attempt > 0) throw err
      }
    }
    return empty
  }

  const checkpoint = async (name: string): Promise<number> => {
    const p = await pointer(name)
    if (p === undefined) return 0
    const info = await jsm.consumers.info(LOG_STREAM, durableName(name, p.generation)).catch(() => undefined)
    return info?.ack_floor.stream_seq ?? 0
  }

  return {
    catalog,
    pointer: (name) => pointer(name),
    get: (name, tenant, key) =>
      withModel<ProjectionEntry | undefined>(name, undefined, async (kv) => {
        const e = await kv.get(`${tenant}.${key}`)
        if (e === null || e.operation !== 'PUT') return undefined
        const entry = decodeMsgpack(e.value) as Entry<unknown>
        return { key, state: entry.state, offset: entry.offset }
      }),
    keys: (name, tenant, page) =>
      withModel<{ keys: readonly string[]; next?: string }>(name, { keys: [] }, async (_kv, bucket) => {
        // A tenant's keys are the subjects of the bucket's last values: read their headers through
        // a budgeted consumer that is deleted afterwards (nats.js's `kv.keys` leaves its consumer
        // on the server for minutes, and enough listings exhaust the server's consumer limit).
        const all = (await listKvKeys(consumers, bucket, `${tenant}.>`)).map((k) => k.slice(tenant.length + 1))
        all.sort()
        const from = page.after === undefined ? 0 : all.findIndex((k) => k > (page.after as string))
        const keys = from < 0 ? [] : all.slice(from, from + page.limit)
        const more = from >= 0 && from + page.limit < all.length
        return more ? { keys, next: keys[keys.length - 1] as string } : { keys }
      }),
    checkpoint,
    async waitFor(name, offset, timeoutMs) {
      const t0 = performance.now()
      let delay = 5
      for (;;) {
        const at = await checkpoint(name)
        if (at >= offset) return { reached: true, checkpoint: at }
        if (performance.now() - t0 >= timeoutMs) return { reached: false, checkpoint: at }
        await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, timeoutMs - (performance.now() - t0)))))
        delay = Math.min(100, delay * 2)
      }
    },
    close: () => stopWatch(),
  }
}
