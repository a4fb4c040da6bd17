import * as E from 'fp-ts/lib/Either.js'
import { assign, createActor, setup } from 'xstate'
import { StreamSupervisor } from '../../actors/streams/streamSupervisor.js'
import { emptyHead, type EventLog } from '../../src/application/streams/ports.js'
import { validateAppendRequest } from '../../src/domain/streams/appendRequest.js'
import { encodeCommit } from '../../src/adapters/codec/commitCodec.js'
import { WireHeaders } from '../../src/adapters/nats/log/wireHeaders.js'
import { systemClock, uuidv7Ids } from '../../src/adapters/system/systemClock.js'
import { payload } from './common.js'

/**
 * The floor of the actor architecture on this machine: CPU µs per append spent in xstate alone,
 * for a do-nothing machine that, like the stream actor, takes two events per append (the work,
 * then the written outcome), each with one assign and one action, across `actors` actors in turn.
 */
export const actorFloor = (appends: number, actors: number): number => {
  const machine = setup({
    types: { context: {} as { version: number; pending: number }, events: {} as { type: 'WORK' } | { type: 'WRITTEN' } },
    actions: { write: () => undefined, reply: () => undefined },
  }).createMachine({
    context: { version: 0, pending: 0 },
    initial: 'ready',
    states: {
      ready: {
        on: {
          WORK: { actions: [assign({ pending: ({ context }) => context.pending + 1 }), 'write'] },
          WRITTEN: { actions: [assign({ version: ({ context }) => context.version + 1, pending: 0 }), 'reply'] },
        },
      },
    },
  })
  const all = Array.from({ length: actors }, () => createActor(machine).start())
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const a = all[i % actors] as (typeof all)[number]
      a.send({ type: 'WORK' })
      a.send({ type: 'WRITTEN' })
    }
  }
  run(Math.min(20_000, appends)) // warm up
  const t0 = process.cpuUsage()
  run(appends)
  const used = process.cpuUsage(t0)
  for (const a of all) a.stop()
  return (used.user + used.system) / appends
}

/**
 * The whole in-memory cost of one append through the library, with I/O taken away: request
 * validation, the real stream supervisor and actors (two events per append), event ids and
 * timestamps, and the commit's msgpack body and headers, against a log that acknowledges at
 * once. `actors` streams append concurrently, each sequentially, as in scenario 3a. CPU µs per
 * append: what any library append costs before a byte reaches the socket.
 */
export const actorPath = async (appends: number, actors: number): Promise<number> => {
  let offset = 0
  const log: EventLog = {
    readHead: async () => emptyHead,
    readStream: async function* () {
      // a new stream: nothing to fold
    },
    append: (commit) => {
      encodeCommit(commit)
      WireHeaders.of(['Nats-Msg-Id', commit.commitId], ['Nats-Expected-Last-Subject-Sequence', String(offset)]).encode()
      return Promise.resolve({ _tag: 'Appended', offset: ++offset })
    },
    findDuplicate: async () => undefined,
  }
  const supervisor = new StreamSupervisor({ log, modules: new Map(), clock: systemClock, ids: uuidv7Ids })
  const run = async (n: number) => {
    const per = Math.ceil(n / actors)
    await Promise.all(
      Array.from({ length: actors }, async (_, s) => {
        for (let i = 0; i < per; i++) {
          const c = validateAppendRequest('bench', `s-${s}`, { events: [{ type: 'thing.happened', payload: payload(i, s) }] })
          if (E.isLeft(c)) throw new Error('invalid bench request')
          const r = await supervisor.append(c.right)
          if (E.isLeft(r)) throw new Error(`append failed: ${JSON.stringify(r.left)}`)
        }
      }),
    )
    return per * actors
  }
  await run(Math.min(20_000, appends)) // warm up
  const t0 = process.cpuUsage()
  const done = await run(appends)
  const used = process.cpuUsage(t0)
  await supervisor.close()
  return (used.user + used.system) / done
}
