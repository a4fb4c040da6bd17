import { afterEach, describe, expect, it, vi } from 'vitest'
import { createActor, type EventObject, fromCallback, fromPromise } from 'xstate'
import { type FoldInput, type ProjectionActorEvent, projectionMachine, stateOf, type SwitchInput } from '../../../actors/projections/projectionMachine.js'
import { noControl, type ProjectionControl, type ReadModelPointer } from '../../../src/domain/projections/operations.js'

/** A machine whose effects are fakes the test drives by hand. */
const harness = (o: { pointer?: ReadModelPointer; control?: ProjectionControl; version?: number } = {}) => {
  const folds: { input: FoldInput; send: (e: ProjectionActorEvent) => void; stopped: boolean }[] = []
  const switches: SwitchInput[] = []
  let grant: (() => void) | undefined
  let control = o.control ?? noControl
  let pointer: ReadModelPointer = o.pointer ?? { version: o.version ?? 1, generation: 1, fromOffset: 1 }
  let sendControl: ((e: ProjectionActorEvent) => void) | undefined
  const logic = projectionMachine.provide({
    actors: {
      acquireLease: fromPromise(() => new Promise<void>((r) => (grant = r))),
      holdLease: fromCallback(() => undefined),
      watchControl: fromCallback<EventObject, { name: string }>(({ sendBack }) => {
        sendControl = sendBack
        return () => (sendControl = undefined)
      }),
      prepare: fromPromise(async () => ({ pointer, control })),
      fold: fromCallback<EventObject, FoldInput>(({ input, sendBack }) => {
        const f = { input, send: sendBack, stopped: false }
        folds.push(f)
        return () => (f.stopped = true)
      }),
      switchOver: fromPromise<ReadModelPointer, SwitchInput>(async ({ input }) => {
        switches.push(input)
        pointer = input.to
        return input.to
      }),
    },
  })
  const actor = createActor(logic, { input: { name: 'p', version: o.version ?? 1 } }).start()
  const tick = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve()
  }
  return {
    actor,
    folds,
    switches,
    state: () => stateOf(actor.getSnapshot()),
    running: () => folds.filter((f) => !f.stopped),
    async lead() {
      grant?.()
      await tick()
      await tick()
    },
    async setControl(c: ProjectionControl) {
      control = c
      sendControl?.({ type: 'CONTROL', control: c })
      await tick()
      await tick()
    },
    tick,
  }
}

const progress = (role: 'active' | 'rebuild', checkpoint: number, lag: number): ProjectionActorEvent => ({ type: 'PROGRESS', role, checkpoint, lag, folded: checkpoint })

describe('projection machine (with .provide() fakes)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('waits in standby for the lease, then catches up, goes live, and back when lag returns', async () => {
    const h = harness()
    expect(h.state()).toBe('standby')
    expect(h.folds).toHaveLength(0)
    await h.lead()
    expect(h.state()).toBe('catching-up')
    expect(h.running().map((f) => f.input)).toEqual([{ role: 'active', name: 'p', pointer: { version: 1, generation: 1, fromOffset: 1 } }])
    h.folds[0]?.send(progress('active', 10, 5))
    expect(h.state()).toBe('catching-up')
    h.folds[0]?.send(progress('active', 15, 0))
    expect(h.state()).toBe('live')
    expect(h.actor.getSnapshot().context.active).toMatchObject({ checkpoint: 15, lag: 0 })
    h.folds[0]?.send(progress('active', 16, 3))
    expect(h.state()).toBe('catching-up')
    h.actor.send({ type: 'STOP' })
    expect(h.state()).toBe('stopped')
    expect(h.running()).toHaveLength(0)
  })

  it('pauses (the fold stops) and resumes (a fresh fold) on the operators’ word', async () => {
    const h = harness()
    await h.lead()
    await h.setControl({ paused: true, retry: 0 })
    expect(h.state()).toBe('paused')
    expect(h.running()).toHaveLength(0)
    await h.setControl({ paused: false, retry: 1 })
    expect(h.state()).toBe('catching-up')
    expect(h.running()).toHaveLength(1)
    expect(h.folds).toHaveLength(2)
  })

  it('parks a poison event with its offset and does not retry until resumed', async () => {
    vi.useFakeTimers()
    const h = harness()
    await h.lead()
    h.folds[0]?.send({ type: 'POISON', role: 'active', offset: 42, message: 'boom' })
    expect(h.state()).toBe('failed')
    expect(h.actor.getSnapshot().context.lastError).toMatchObject({ offset: 42, message: 'boom' })
    await vi.advanceTimersByTimeAsync(60_000) // far longer than any backoff
    expect(h.state()).toBe('failed')
    expect(h.folds).toHaveLength(1)
    await h.setControl({ paused: false, retry: 1 })
    expect(h.state()).toBe('catching-up')
    expect(h.folds).toHaveLength(2)
  })

  it('retries a transient failure after a growing backoff, keeping the last error', async () => {
    vi.useFakeTimers()
    const h = harness()
    await h.lead()
    h.folds[0]?.send({ type: 'FAILURE', role: 'active', message: 'no responders' })
    expect(h.state()).toBe('failed')
    expect(h.actor.getSnapshot().context.lastError?.message).toBe('no responders')
    await vi.advanceTimersByTimeAsync(249)
    expect(h.state()).toBe('failed')
    await vi.advanceTimersByTimeAsync(1)
    expect(h.state()).toBe('catching-up')
    expect(h.actor.getSnapshot().context.attempts).toBe(1)
    h.folds[1]?.send({ type: 'FAILURE', role: 'active', message: 'again' })
    await vi.advanceTimersByTimeAsync(499)
    expect(h.state()).toBe('failed') // 500 ms the second time
    await vi.advanceTimersByTimeAsync(1)
    expect(h.state()).toBe('catching-up')
    h.folds[2]?.send(progress('active', 1, 0))
    expect(h.actor.getSnapshot().context.attempts).toBe(0)
  })

  it('rebuilds into the next generation beside the live fold, then switches over', async () => {
    const h = harness()
    await h.lead()
    h.folds[0]?.send(progress('active', 100, 0))
    await h.setControl({ paused: false, retry: 0, rebuild: { id: 'r1', fromOffset: 0 } })
    expect(h.state()).toBe('rebuilding')
    expect(h.running().map((f) => f.input)).toEqual([
      { role: 'active', name: 'p', pointer: { version: 1, generation: 1, fromOffset: 1 }, idle: false },
      { role: 'rebuild', name: 'p', pointer: { version: 1, generation: 2, fromOffset: 1, rebuildId: 'r1' } },
    ])
    const rebuild = h.running()[1]
    rebuild?.send(progress('rebuild', 50, 50))
    expect(h.state()).toBe('rebuilding')
    expect(h.actor.getSnapshot().context.rebuild).toMatchObject({ checkpoint: 50, lag: 50 })
    rebuild?.send(progress('rebuild', 100, 0))
    await h.tick()
    await h.tick()
    expect(h.switches).toEqual([{ name: 'p', from: { version: 1, generation: 1, fromOffset: 1 }, to: { version: 1, generation: 2, fromOffset: 1, rebuildId: 'r1' } }])
    // The request is still in the control record, but the pointer says it is done: no second rebuild.
    expect(h.state()).toBe('catching-up')
    expect(h.running().map((f) => f.input)).toEqual([{ role: 'active', name: 'p', pointer: { version: 1, generation: 2, fromOffset: 1, rebuildId: 'r1' } }])
  })

  it('a changed definition version is rebuilt from the start, with the old fold idle', async () => {
    const h = harness({ version: 2, pointer: { version: 1, generation: 3, fromOffset: 1 } })
    await h.lead()
    expect(h.state()).toBe('rebuilding')
    expect(h.running().map((f) => f.input)).toEqual([
      { role: 'active', name: 'p', pointer: { version: 1, generation: 3, fromOffset: 1 }, idle: true },
      { role: 'rebuild', name: 'p', pointer: { version: 2, generation: 4, fromOffset: 1, rebuildId: 'version-2' } },
    ])
  })

  it('an older definition than the read model’s parks instead of folding or rebuilding backwards', async () => {
    const h = harness({ version: 1, pointer: { version: 2, generation: 4, fromOffset: 1 } })
    await h.lead()
    expect(h.state()).toBe('failed')
    expect(h.actor.getSnapshot().context.lastError?.message).toMatch(/version 2 .* version 1/)
    expect(h.folds).toHaveLength(0)
  })

  it('a lost lease stops every fold and waits in standby', async () => {
    const h = harness()
    await h.lead()
    h.actor.send({ type: 'LEASE_LOST' })
    expect(h.state()).toBe('standby')
    expect(h.running()).toHaveLength(0)
  })
})
