import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { connect } from '@nats-io/transport-node'
import { unpack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { LOG_STREAM, runFold, type RunningFold } from '../../../src/adapters/nats/projections/projectionFold.js'
import { eventCounter } from '../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import { acmeEvents, writeCommitsToLog } from '../../support/logWriter.js'
import { withNatsServer } from '../../support/natsServer.js'
import { waitFor } from '../../support/projections.js'

const COMMITS = 3_000

/**
 * Two folds of one projection at once on its one durable consumer (what two instances that both
 * believe they hold the lease would run): the consumer splits the commits between them. Whatever
 * happens to them, once the one that survives (or a fold started after both) has caught up, the
 * read model must equal the pure fold of the log: no commit may be acknowledged that was not folded.
 */
describe('two folds of one projection on its durable consumer at once', () => {
  const server = withNatsServer()

  it('never lose a commit: after both, one fold catches up to exactly the pure fold', async () => {
    const nc = await connect({ servers: server().url })
    await writeCommitsToLog(nc, COMMITS, 20)
    const events = await acmeEvents(nc)
    const end = events.at(-1)?.offset as number
    const jsm = await jetstreamManager(nc)
    const def: ProjectionDefinition<unknown> = { ...eventCounter, name: 'two-folds' } as ProjectionDefinition<unknown>
    for (let round = 0; round < 4; round++) {
      const target = { bucket: `ALLSOURCE_PROJ_two-folds_${round + 1}`, durable: `proj_two-folds_${round + 1}`, fromOffset: 1 }
      const checkpoint = async () => (await jsm.consumers.info(LOG_STREAM, target.durable).catch(() => undefined))?.ack_floor.stream_seq ?? 0
      const failures: string[] = []
      const ended = new Set<number>()
      const start = (i: number): Promise<RunningFold> =>
        runFold(nc, def, target, { prefix: 'allsource', chunk: 50 }, {
          progress: (p) => p.checkpoint >= end && ended.add(i),
          poison: (p) => failures.push(`poison at ${p.offset}: ${p.message}`),
          failure: (m) => {
            failures.push(m)
            ended.add(i)
          },
        }).catch((e: unknown) => {
          // It may find the other fold's commits pending and refuse to start: that is fine too.
          failures.push(e instanceof Error ? e.message : String(e))
          ended.add(i)
          return { stop: async () => undefined }
        })
      const both = await Promise.all([start(0), start(1)])
      // One ends (caught up to the end of the log, or stopped by a fence or by the other fold), then
      // both are stopped: when is not the point, nothing either acked may be lost. (A fold that
      // stopped may leave commits in its last pull; the other then waits for their redelivery.)
      await waitFor(() => ended.size >= 1, 60_000, 'a fold to catch up or stop')
      await Promise.all(both.map((f) => f.stop()))
      // The next owner: one fold alone, from the consumer's checkpoint.
      if ((await checkpoint()) < end) {
        const last = await runFold(nc, def, target, { prefix: 'allsource', chunk: 50 }, { progress: () => undefined, poison: () => undefined, failure: (m) => failures.push(`alone: ${m}`) })
        await waitFor(async () => (await checkpoint()) >= end || failures.some((f) => f.startsWith('alone')), 60_000, 'the single fold to catch up')
        await last.stop()
      }
      expect(failures.filter((f) => f.startsWith('alone') || f.startsWith('poison'))).toEqual([])
      const kv = await new Kvm(nc).open(target.bucket)
      const model = new Map<string, unknown>()
      for await (const k of await kv.keys()) {
        const e = await kv.get(k)
        if (e !== null && e.operation === 'PUT') model.set(k, (unpack(e.value) as { state: unknown }).state)
      }
      expect(model, `round ${round + 1} (${failures.join('; ')})`).toEqual(foldAll(def, events))
    }
    await nc.close()
  }, 180_000)
})
