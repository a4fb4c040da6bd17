import type { FastifyInstance } from 'fastify'
import * as t from 'io-ts'
import type { PipelineCommandName } from '../../domain/pipelines/pipelineRequest.js'
import type { GatewayAuth } from './gatewayAuth.js'
import { annotate } from './jsonSchema.js'
import type { GatewayData } from './ports.js'
import { answer, defineRoute } from './route.js'

const Stage = annotate(t.UnknownRecord, { description: 'one stage: { filter }, { map }, { enrich }, { branch } or { reduce } (docs/pipelines.md, "Definition reference")' })
const Sink = annotate(t.UnknownRecord, { description: '{ "readModel": {} } or { "stream": { "name", "type"? } }' })

/** A pipeline definition as JSON (for the documentation: the domain's decoder decides, and answers a fault with its `path`). */
export const PipelineDefinitionBody = t.intersection([t.type({ name: t.string, stages: t.array(Stage), sink: Sink }), t.partial({ version: t.number, description: t.string })], 'PipelineDefinition')

const Status = annotate(t.UnknownRecord, { description: "the pipeline's projection status (state, checkpoint, lag, …), once it has reported one" })
const Summary = t.intersection([t.type({ name: t.string, projection: t.string, version: t.number }), t.partial({ status: Status })], 'PipelineSummary')
const PipelineReply = t.intersection([Summary, t.type({ definition: t.UnknownRecord }), t.partial({ createdAt: t.string })], 'Pipeline')
const PipelineListReply = t.type({ pipelines: t.array(Summary) }, 'PipelineList')
const DeletedReply = t.type({ name: t.string, deleted: t.literal(true) }, 'PipelineDeleted')
const ControlReply = t.type({ name: t.string, control: t.UnknownRecord }, 'PipelineControl')
const RebuildBody = t.partial({ fromOffset: t.number }, 'PipelineRebuild')

interface PipelineRoute {
  readonly method: 'POST' | 'GET' | 'DELETE'
  readonly path: string
  readonly command: PipelineCommandName
  readonly summary: string
  readonly reply: t.Mixed
  readonly status?: number
  readonly documentedBody?: t.Mixed
}

const ROUTES: readonly PipelineRoute[] = [
  { method: 'POST', path: '', command: 'create', summary: 'Create or replace a pipeline (a changed definition needs a higher version)', reply: PipelineReply, status: 201, documentedBody: PipelineDefinitionBody },
  { method: 'GET', path: '', command: 'list', summary: "The tenant's pipelines with their status", reply: PipelineListReply },
  { method: 'GET', path: '/:name', command: 'get', summary: 'A pipeline: its definition and status', reply: PipelineReply },
  { method: 'DELETE', path: '/:name', command: 'delete', summary: 'Delete a pipeline (its read model, consumers and control records go too)', reply: DeletedReply },
  { method: 'POST', path: '/:name/pause', command: 'pause', summary: 'Pause a pipeline', reply: ControlReply },
  { method: 'POST', path: '/:name/resume', command: 'resume', summary: 'Resume a pipeline (a failed one retries)', reply: ControlReply },
  { method: 'POST', path: '/:name/rebuild', command: 'rebuild', summary: 'Rebuild a pipeline into a new read model from fromOffset (default 0: the whole log)', reply: ControlReply, documentedBody: RebuildBody },
]

/**
 * `/v1/tenants/{tenant}/pipelines…`: the pipeline admin subjects `allsource.admin.<tenant>.pipelines.<command>`
 * over HTTP (docs/pipelines.md), with the `manageProjections` operation as on NATS. The body is the
 * NATS body, with the path's `{name}` as its `name`; the same use case validates and answers it,
 * so bodies, replies and error codes are NATS's.
 */
export const registerPipelineRoutes = (app: FastifyInstance, auth: GatewayAuth, data: GatewayData): void => {
  for (const r of ROUTES) {
    const takesBody = r.method === 'POST'
    defineRoute<Record<string, unknown>, undefined>(app, auth, {
      method: r.method,
      url: `/v1/tenants/:tenant/pipelines${r.path}`,
      summary: r.summary,
      description: `Same call as \`allsource.admin.<tenant>.pipelines.${r.command}\` (docs/pipelines.md).`,
      tag: 'pipelines',
      access: { kind: 'tenant', operation: 'manageProjections' },
      ...(takesBody ? { body: t.UnknownRecord, bodyRequired: r.command === 'create', ...(r.documentedBody !== undefined ? { documentedBody: r.documentedBody } : {}) } : {}),
      reply: r.reply,
      ...(r.status !== undefined ? { status: r.status } : {}),
      run: async ({ params, body }) => {
        // No body spec (GET, DELETE): the route gets no body.
        const given = body as Record<string, unknown> | undefined
        const named = params.name === undefined ? given : { ...given, name: params.name }
        return answer(await data.pipeline(params.tenant ?? '', r.command, r.command === 'list' ? undefined : named))
      },
    })
  }
}
