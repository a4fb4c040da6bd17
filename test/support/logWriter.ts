import { headers, type NatsConnection } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { encodeCommit } from '../../src/adapters/codec/commitCodec.js'
import { ensureEventStream } from '../../src/adapters/nats/log/eventStream.js'
import { PipelinedPublisher } from '../../src/adapters/nats/log/pipelinedPublisher.js'
import { replayEvents } from '../../src/adapters/nats/reading/replay.js'
import type { ProjectedEvent } from '../../src/domain/projections/projection.js'
import type { Commit } from '../../src/domain/streams/event.js'

/**
 * Writes `commits` commits of 4 events each straight to the log (tenant `acme`, streams
 * `p-0…p-<streams-1>`, types `t0…t4`), the way the stream actors would, only faster: for tests that
 * need a long log to catch up on. `first` numbers the commits on from
 * an earlier call's (0 by default); `at` gives event `k` of commit `n` its timestamp (now by default).
 */
export const writeCommitsToLog = async (
  nc: NatsConnection,
  commits: number,
  streams = 200,
  { first = 0, at = () => new Date() }: { readonly first?: number; readonly at?: (n: number, k: number) => Date } = {},
): Promise<void> => {
  await ensureEventStream(nc, await jetstreamManager(nc))
  const pub = new PipelinedPublisher(nc)
  for (let c = 0; c < commits; c += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, commits - c) }, async (_, j) => {
        const n = first + c + j
        const stream = `p-${n % streams}`
        const v = Math.floor(n / streams) * 4
        const commit = {
          commitId: `c-${n}`,
          tenant: 'acme',
          stream,
          events: Array.from({ length: 4 }, (_, k) => ({ id: `e-${n}-${k}`, type: `t${(n + k) % 5}`, version: v + k + 1, timestamp: at(n, k), payload: { [`f${k}`]: n } })),
        } as unknown as Commit
        const h = headers()
        h.set('Nats-Msg-Id', commit.commitId)
        h.set('AllSource-Types', [...new Set(commit.events.map((e) => e.type))].join(','))
        const r = await pub.publish(`allsource.events.acme.${stream}`, encodeCommit(commit), h)
        if (r._tag !== 'Stored') throw new Error('write failed')
      }),
    )
  }
  pub.close()
}

/** Every event of tenant `acme` in log order, as projections see them. */
export const acmeEvents = async (nc: NatsConnection): Promise<ProjectedEvent[]> => {
  const events: ProjectedEvent[] = []
  for await (const e of replayEvents(nc, { tenant: 'acme' })) events.push({ ...e })
  return events
}
