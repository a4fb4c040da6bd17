import { Kvm, type KV, type KvEntry } from '@nats-io/kv'
import { listKvKeys } from '../log/kvKeys.js'
import { createLogConsumers, type LogConsumers } from '../reading/logConsumer.js'
import type { KvLease } from '../log/kvLease.js'
import type { NatsConnection } from '@nats-io/transport-node'
import {
  firstPointer,
  noControl,
  type ProjectionControl,
  type ProjectionStatus,
  type ReadModelPointer,
} from '../../../domain/projections/operations.js'

/**
 * The KV bucket that coordinates projections across processor instances. Per projection `<name>`:
 *
 * - `<name>.active`: the read-model pointer (which generation serves reads);
 * - `<name>.control`: pause, resume and rebuild requests (durable: they survive restarts);
 * - `<name>.lease`: which instance folds it (a {@link KvLease});
 * - `<name>.status`: the owner's last status report.
 */
export const CONTROL_BUCKET = 'ALLSOURCE_PROJECTIONS'

const json = (e: KvEntry | null): unknown => (e === null || e.operation !== 'PUT' ? undefined : e.json())
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface ProjectionCatalog {
  readonly kv: KV
  /** The read-model pointer, or undefined if the projection never ran. */
  pointer(name: string): Promise<ReadModelPointer | undefined>
  /** The pointer, created for `version` (folding from `fromOffset`, default 1) if the projection never ran. */
  ensurePointer(name: string, version: number, fromOffset?: number): Promise<ReadModelPointer>
  /** Switches the pointer, only if it still is `from` (compare-and-set). */
  switchPointer(name: string, from: ReadModelPointer, to: ReadModelPointer): Promise<void>
  control(name: string): Promise<ProjectionControl>
  /** Changes the control record atomically (retried on a concurrent change); returns the new one. */
  updateControl(name: string, change: (c: ProjectionControl) => ProjectionControl): Promise<ProjectionControl>
  /**
   * Calls back with the control record now and on every change; returns a stop function. A watch
   * that ends or fails before it is stopped is reported to `onError` and opened again (it then
   * delivers the current record again).
   */
  watchControl(name: string, onChange: (c: ProjectionControl) => void, onError?: (err: unknown) => void): Promise<() => void>
  /** Calls back with every pointer now and on every change; returns a stop function. Restarted like {@link watchControl}'s. */
  watchPointers(onChange: (name: string, p: ReadModelPointer) => void, onError?: (err: unknown) => void): Promise<() => void>
  putStatus(status: ProjectionStatus): Promise<void>
  /** One projection's last status report, if its owner ever wrote one. */
  status(name: string): Promise<ProjectionStatus | undefined>
  statuses(): Promise<readonly ProjectionStatus[]>
}

/** A watch as `kv.watch` gives it: entries until stopped (or until it fails). */
export interface Watch<T> extends AsyncIterable<T> {
  stop(): void
}

/**
 * Keeps a watch open: the first `open` is awaited (its failure rejects), and a watch that ends or
 * fails before `stop` is called is reported to `onError` and opened again after a back-off
 * (250 ms doubling to 5 s, reset by an entry), until stopped or the connection is closed.
 */
export const keepWatching = async <T>(
  open: () => Promise<Watch<T>>,
  onEntry: (e: T) => void,
  options: { readonly onError?: (err: unknown) => void; readonly isClosed?: () => boolean; readonly backoffMs?: (attempt: number) => number } = {},
): Promise<() => void> => {
  let stopped = false
  let current: Watch<T> | undefined = await open()
  let wake: (() => void) | undefined
  const backoff = options.backoffMs ?? ((n: number) => Math.min(5_000, 250 * 2 ** n))
  const report = (err: unknown) => {
    try {
      options.onError?.(err)
    } catch {
      // a failing reporter must not end the watch
    }
  }
  const loop = async (): Promise<void> => {
    for (let attempt = 0; ; ) {
      if (current !== undefined) {
        const w = current
        try {
          for await (const e of w) {
            attempt = 0
            onEntry(e)
          }
          if (stopped || options.isClosed?.() === true) return
          report(new Error('the watch ended'))
        } catch (err) {
          if (stopped || options.isClosed?.() === true) return
          report(err)
        }
        current = undefined
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff(attempt++))
        wake = () => {
          clearTimeout(t)
          r()
        }
      })
      wake = undefined
      if (stopped || options.isClosed?.() === true) return
      try {
        current = await open()
        if (stopped) current.stop()
      } catch (err) {
        if (stopped || options.isClosed?.() === true) return
        report(err)
      }
    }
  }
  loop().catch(report) // loop handles its own errors; this is for a throwing onEntry
  return () => {
    stopped = true
    current?.stop()
    wake?.()
  }
}

export const openProjectionCatalog = async (
  nc: NatsConnection,
  options: {
    readonly replicas?: number
    /** Where listing the statuses takes its (deleted afterwards) consumer from; default: a small budget of the catalog's own. */
    readonly consumers?: LogConsumers
  } = {},
): Promise<ProjectionCatalog> => {
  const kv = await new Kvm(nc).create(CONTROL_BUCKET, { history: 1, ...(options.replicas !== undefined ? { replicas: options.replicas } : {}) })
  const consumers = options.consumers ?? createLogConsumers(nc, { max: 4 })

  const casLoop = async <T>(key: string, change: (current: T | undefined) => T): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const e = await kv.get(key)
      const next = change(json(e) as T | undefined)
      try {
        if (e === null) await kv.create(key, JSON.stringify(next))
        else await kv.update(key, JSON.stringify(next), e.revision)
        return next
      } catch (err) {
        if (attempt >= 20) throw err
        await sleep(5 + Math.random() * 20)
      }
    }
  }

  return {
    kv,
    pointer: async (name) => json(await kv.get(`${name}.active`)) as ReadModelPointer | undefined,
    ensurePointer: (name, version, fromOffset = 1) => casLoop<ReadModelPointer>(`${name}.active`, (p) => p ?? { ...firstPointer(version), fromOffset: Math.max(1, fromOffset) }),
    async switchPointer(name, from, to) {
      const e = await kv.get(`${name}.active`)
      const now = json(e) as ReadModelPointer | undefined
      if (e === null || now === undefined || now.generation !== from.generation) {
        throw new Error(`the read model of "${name}" moved to generation ${now?.generation ?? 'none'} meanwhile`)
      }
      await kv.update(`${name}.active`, JSON.stringify(to), e.revision)
    },
    control: async (name) => ({ ...noControl, ...((json(await kv.get(`${name}.control`)) as ProjectionControl | undefined) ?? {}) }),
    updateControl: (name, change) => casLoop<ProjectionControl>(`${name}.control`, (c) => change({ ...noControl, ...(c ?? {}) })),
    async watchControl(name, onChange, onError) {
      let first = true
      return keepWatching(
        async () => {
          // The watch delivers the current value first, if there is one.
          const w = await kv.watch({ key: `${name}.control` })
          if (first && (await kv.get(`${name}.control`)) === null) onChange(noControl)
          first = false
          return w
        },
        (e) => onChange({ ...noControl, ...((json(e) as ProjectionControl | undefined) ?? {}) }),
        { isClosed: () => nc.isClosed(), ...(onError !== undefined ? { onError } : {}) },
      )
    },
    async watchPointers(onChange, onError) {
      return keepWatching(
        () => kv.watch({ key: '*.active' }),
        (e) => {
          const p = json(e) as ReadModelPointer | undefined
          if (p !== undefined) onChange(e.key.slice(0, -'.active'.length), p)
        },
        { isClosed: () => nc.isClosed(), ...(onError !== undefined ? { onError } : {}) },
      )
    },
    async putStatus(status) {
      await kv.put(`${status.name}.status`, JSON.stringify(status))
    },
    status: async (name) => json(await kv.get(`${name}.status`)) as ProjectionStatus | undefined,
    async statuses() {
      const out: ProjectionStatus[] = []
      for (const k of await listKvKeys(consumers, CONTROL_BUCKET, '*.status')) {
        const s = json(await kv.get(k)) as ProjectionStatus | undefined
        if (s !== undefined) out.push(s)
      }
      return out.sort((a, b) => a.name.localeCompare(b.name))
    },
  }
}
