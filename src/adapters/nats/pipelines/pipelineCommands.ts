import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { type AppendError, notFound } from '../../../application/streams/errors.js'
import { runtimeName, validatePipelineCommand } from '../../../domain/pipelines/pipelineRequest.js'
import { checkRebuildOffset } from '../../../domain/projections/projectionRequest.js'
import { badRequest } from '../../../domain/streams/errors.js'
import type { TenantId } from '../../../domain/streams/ids.js'
import type { ProjectionCatalog } from '../projections/projectionControl.js'
import { LOG_STREAM } from '../projections/projectionFold.js'
import type { PipelineCatalog, StoredPipeline } from './pipelineCatalog.js'

export interface PipelineCommands {
  /**
   * One pipeline admin command for `tenant` (a valid tenant id: the subject's or the path's):
   * `create|list|get|delete|pause|resume|rebuild` with the NATS body (docs/pipelines.md). Every
   * failure is a value from the one error table (`BAD_REQUEST` with `path`, `INVALID_ID`,
   * `NOT_FOUND`, the admission's codes); a store or NATS failure rejects, for the door to map.
   */
  run(tenant: TenantId, command: string, body: unknown): Promise<E.Either<AppendError, unknown>>
}

export interface PipelineCommandOptions {
  /** Admits the tenant after the body validated (auth mode on NATS; the HTTP gateway admits before the route runs). */
  readonly admit?: (tenant: string) => Promise<E.Either<AppendError, unknown>>
  /**
   * How long `create` of a new pipeline waits for a processor to have started it (its projection's
   * read-model pointer exists, so reads find it) before answering anyway (default 5,000 ms; 0 =
   * answer once stored).
   */
  readonly startWaitMs?: number
}

/** Resolves once `projection` has a read-model pointer, or after `ms` (whichever is first); never rejects. */
const untilStarted = async (control: ProjectionCatalog, projection: string, ms: number): Promise<void> => {
  const deadline = performance.now() + ms
  for (;;) {
    const p = await control.pointer(projection).catch(() => undefined)
    if (p !== undefined || performance.now() >= deadline) return
    await new Promise((r) => setTimeout(r, 25))
  }
}

/**
 * The pipeline admin commands, one implementation for every door: the NATS endpoint
 * `<prefix>.admin.<tenant>.pipelines.<command>` and the HTTP routes under
 * `/v1/tenants/{tenant}/pipelines`, so both answer the same bodies and the same errors.
 *
 * - `create`: a definition → `{ name, projection, version, definition, status? }`; a name that
 *   exists is replaced, which needs a higher `version` if the definition changed. A new pipeline's
 *   answer waits (up to `startWaitMs`) until a processor has started it, so a read right after
 *   the answer finds its projection instead of `NOT_FOUND`;
 * - `list` → `{ pipelines: [{ name, projection, version, status? }] }`;
 * - `get` `{ name }` → `{ name, projection, version, definition, createdAt, status? }`;
 * - `delete` `{ name }` → `{ name, deleted: true }`;
 * - `pause` / `resume` `{ name }`, `rebuild` `{ name, fromOffset? }` → `{ name, control }`.
 *
 * The definition is stored in the `ALLSOURCE_PIPELINES` bucket; every processor runs it (see
 * `hostPipelines`), confined to the tenant's events, as projection `<tenant>--<name>`.
 */
export const createPipelineCommands = (nc: NatsConnection, catalog: PipelineCatalog, control: ProjectionCatalog, o: PipelineCommandOptions = {}): PipelineCommands => {
  const view = async (p: StoredPipeline) => {
    const projection = runtimeName(p.tenant, p.name)
    const status = await control.status(projection)
    const version = (p.definition as { version?: number }).version ?? 1
    return { name: p.name, projection, version, ...(status !== undefined ? { status } : {}) }
  }
  return {
    async run(tenant, command, body) {
      const cmd = validatePipelineCommand(tenant, command, body)
      if (E.isLeft(cmd)) return cmd
      if (o.admit !== undefined) {
        const admitted = await o.admit(tenant)
        if (E.isLeft(admitted)) return admitted
      }
      const c = cmd.right
      if (c._tag === 'List') return E.right({ pipelines: await Promise.all((await catalog.list(tenant)).map(view)) })
      if (c._tag === 'Create') {
        const name = c.definition.name
        const before = await catalog.get(tenant, name)
        if (before !== undefined) {
          const was = (before.definition as { version?: number }).version ?? 1
          const same = JSON.stringify(before.definition) === JSON.stringify(c.json)
          if (!same && c.definition.version <= was) return E.left(badRequest(`pipeline "${name}" exists at version ${was}: a changed definition needs a higher version`, { field: 'version', version: was }))
        }
        const stored: StoredPipeline = { tenant, name, definition: c.json, createdAt: before?.createdAt ?? new Date().toISOString() }
        await catalog.put(stored)
        const waitMs = o.startWaitMs ?? 5_000
        if (waitMs > 0) await untilStarted(control, runtimeName(tenant, name), waitMs)
        return E.right({ ...(await view(stored)), definition: c.json })
      }
      const p = await catalog.get(tenant, c.name)
      if (p === undefined) return E.left(notFound(`no pipeline "${c.name}" for tenant "${tenant}"`))
      const projection = runtimeName(tenant, c.name)
      switch (c._tag) {
        case 'Get':
          return E.right({ ...(await view(p)), definition: p.definition, createdAt: p.createdAt })
        case 'Delete':
          await catalog.delete(tenant, c.name)
          return E.right({ name: c.name, deleted: true })
        case 'Pause':
          return E.right({ name: c.name, control: await control.updateControl(projection, (x) => ({ ...x, paused: true })) })
        case 'Resume':
          return E.right({ name: c.name, control: await control.updateControl(projection, (x) => ({ ...x, paused: false, retry: x.retry + 1 })) })
        case 'Rebuild': {
          const logEnd = (await (await jetstreamManager(nc)).streams.info(LOG_STREAM)).state.last_seq
          const ok = checkRebuildOffset(c.fromOffset, logEnd)
          if (E.isLeft(ok)) return ok
          const rebuild = { id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, fromOffset: c.fromOffset }
          return E.right({ name: c.name, control: await control.updateControl(projection, (x) => ({ ...x, rebuild })) })
        }
        default: {
          const never: never = c
          return never
        }
      }
    },
  }
}
