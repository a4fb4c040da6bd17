import { assign, createActor, setup } from 'xstate'

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
