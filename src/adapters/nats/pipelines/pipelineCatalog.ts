import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream'
import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { decodePipeline, type PipelineDefinition } from '../../../domain/pipelines/definition.js'
import { runtimeName } from '../../../domain/pipelines/pipelineRequest.js'
import { bucketName, durableName } from '../../../domain/projections/operations.js'
import type { ProjectionRunner } from '../projections/projectionRunner.js'
import { CONTROL_BUCKET, keepWatching } from '../projections/projectionControl.js'
import { LOG_STREAM } from '../projections/projectionFold.js'
import { listKvKeys } from '../log/kvKeys.js'
import type { LogConsumers } from '../reading/logConsumer.js'
import { createLogConsumers } from '../reading/logConsumer.js'

/** KV bucket of the pipelines defined through the admin API: key `<tenant>.<name>`, value the definition's JSON. */
export const PIPELINE_BUCKET = 'ALLSOURCE_PIPELINES'

export interface StoredPipeline {
  readonly tenant: string
  readonly name: string
  /** The definition as sent (JSON), decoded again whenever it is read. */
  readonly definition: unknown
  readonly createdAt: string
}

export interface PipelineCatalog {
  readonly kv: KV
  get(tenant: string, name: string): Promise<StoredPipeline | undefined>
  put(p: StoredPipeline): Promise<void>
  /** Whether it existed. */
  delete(tenant: string, name: string): Promise<boolean>
  list(tenant: string): Promise<readonly StoredPipeline[]>
}

export const openPipelineCatalog = async (nc: NatsConnection, options: { readonly replicas?: number; readonly consumers?: LogConsumers } = {}): Promise<PipelineCatalog> => {
  const kv = await new Kvm(nc).create(PIPELINE_BUCKET, { history: 1, ...(options.replicas !== undefined ? { replicas: options.replicas } : {}) })
  const consumers = options.consumers ?? createLogConsumers(nc, { max: 4 })
  const get = async (tenant: string, name: string): Promise<StoredPipeline | undefined> => {
    const e = await kv.get(`${tenant}.${name}`)
    return e === null || e.operation !== 'PUT' ? undefined : (e.json() as StoredPipeline)
  }
  return {
    kv,
    get,
    async put(p) {
      await kv.put(`${p.tenant}.${p.name}`, JSON.stringify(p))
    },
    async delete(tenant, name) {
      if ((await get(tenant, name)) === undefined) return false
      await kv.delete(`${tenant}.${name}`)
      return true
    },
    async list(tenant) {
      const out: StoredPipeline[] = []
      for (const k of await listKvKeys(consumers, PIPELINE_BUCKET, `${tenant}.*`)) {
        const p = await get(tenant, k.slice(tenant.length + 1))
        if (p !== undefined) out.push(p)
      }
      return out.sort((a, b) => a.name.localeCompare(b.name))
    },
  }
}

/** A stored pipeline as the runner takes it: confined to its tenant, under its runtime name. */
export const runtimeDefinition = (p: StoredPipeline): E.Either<string, PipelineDefinition> => {
  const d = decodePipeline(p.definition)
  if (E.isLeft(d)) return E.left('message' in d.left ? d.left.message : d.left._tag)
  return E.right({ ...d.right, name: runtimeName(p.tenant, p.name), tenants: [p.tenant] })
}

/** Deletes what a pipeline's projection left: its generations' consumers and buckets, and its control records. */
export const retirePipeline = async (nc: NatsConnection, projection: string): Promise<void> => {
  const jsm = await jetstreamManager(nc)
  const control = await new Kvm(nc).open(CONTROL_BUCKET)
  const active = await control.get(`${projection}.active`)
  const generation = active !== null && active.operation === 'PUT' ? (active.json() as { generation: number }).generation : 1
  const gone = (code: number) => (e: unknown) => {
    if (!(e instanceof JetStreamApiError && e.code === code)) throw e
  }
  for (let g = 1; g <= generation + 1; g++) {
    await jsm.consumers.delete(LOG_STREAM, durableName(projection, g)).then(() => undefined, gone(JetStreamApiCodes.ConsumerNotFound))
    await jsm.streams.delete(`KV_${bucketName(projection, g)}`).then(() => undefined, gone(JetStreamApiCodes.StreamNotFound))
  }
  for (const k of ['active', 'control', 'status', 'lease', 'rebuilding']) await control.purge(`${projection}.${k}`)
}

export interface PipelineHost {
  /** The runners of this instance, by runtime name. */
  running(): ReadonlyMap<string, ProjectionRunner>
  stop(): Promise<void>
}

/**
 * Runs every pipeline stored in the catalog on this instance (the projection lease decides which
 * instance folds each): it watches the bucket, starts a runner for every definition, restarts it
 * when the definition changes, and stops it when the definition is deleted. Survives restarts:
 * the watch delivers every stored definition first.
 */
export const hostPipelines = async (
  nc: NatsConnection,
  catalog: PipelineCatalog,
  start: (def: PipelineDefinition) => Promise<ProjectionRunner>,
  onError: (message: string) => void,
): Promise<PipelineHost> => {
  const runners = new Map<string, { readonly json: string; readonly runner: ProjectionRunner }>()
  // Changes are applied one at a time, in watch order.
  let queue: Promise<void> = Promise.resolve()
  const apply = async (key: string, p: StoredPipeline | undefined): Promise<void> => {
    const dot = key.indexOf('.')
    const projection = runtimeName(key.slice(0, dot), key.slice(dot + 1))
    const current = runners.get(projection)
    const json = p === undefined ? '' : JSON.stringify(p.definition)
    if (current !== undefined && current.json === json) return
    if (current !== undefined) {
      runners.delete(projection)
      await current.runner.stop()
    }
    if (p === undefined) return retirePipeline(nc, projection)
    const def = runtimeDefinition(p)
    if (E.isLeft(def)) return onError(`pipeline "${projection}": stored definition refused: ${def.left}`)
    runners.set(projection, { json, runner: await start(def.right) })
  }
  const stopWatch = await keepWatching(
    () => catalog.kv.watch({ key: '*.*' }),
    (e) => {
      const p = e.operation === 'PUT' ? (e.json() as StoredPipeline) : undefined
      queue = queue.then(() => apply(e.key, p)).catch((err: unknown) => onError(`pipeline "${e.key}": ${err instanceof Error ? err.message : String(err)}`))
    },
    { isClosed: () => nc.isClosed(), onError: (err) => onError(`pipeline watch ended, reopening it: ${err instanceof Error ? err.message : String(err)}`) },
  )
  return {
    running: () => new Map([...runners].map(([k, v]) => [k, v.runner])),
    async stop() {
      stopWatch()
      await queue
      await Promise.all([...runners.values()].map((r) => r.runner.stop()))
      runners.clear()
    },
  }
}
