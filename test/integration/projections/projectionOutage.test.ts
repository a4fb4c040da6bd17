import { describe, expect, it } from 'vitest'
import { openProjectionCatalog } from '../../../src/adapters/nats/projections/projectionControl.js'
import { startProjection } from '../../../src/adapters/nats/projections/projectionRunner.js'
import { replayEvents } from '../../../src/adapters/nats/reading/replay.js'
import { entityState, eventCounter } from '../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectedEvent, type ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import type { ProjectionState } from '../../../src/domain/projections/operations.js'
import { writeCommitsToLog } from '../../support/logWriter.js'
import { readModel, waitFor } from '../../support/projections.js'
import { startRestartableServer } from '../../support/restartableServer.js'

describe('projections across a nats-server restart', () => {
  it('nats-server stopped mid catch-up and started again on the same store: the actors recover, exactly', async () => {
    const server = await startRestartableServer()
    const { nc } = server
    try {
      await writeCommitsToLog(nc, 10_000)
      const defs = [eventCounter, entityState] as ProjectionDefinition<unknown>[]
      const seen = new Map<string, Set<ProjectionState>>(defs.map((d) => [d.name, new Set()]))
      const runners = await Promise.all(
        defs.map((d) => startProjection(nc, d, { chunk: 50, leaseTtlMs: 2_000, onStateChange: (s) => seen.get(d.name)?.add(s.state) })),
      )
      await waitFor(() => runners.every((r) => r.status().checkpoint > 500), 60_000, 'some progress')
      await server.restart(1_000)
      const events: ProjectedEvent[] = []
      await waitFor(async () => {
        try {
          events.length = 0
          for await (const e of replayEvents(nc, { tenant: 'acme' })) events.push({ ...e })
          return events.length === 40_000
        } catch {
          return false
        }
      }, 60_000, 'the server back')
      const end = events.at(-1)?.offset as number
      for (const r of runners) await r.until((s) => s.state === 'live' && s.checkpoint === end, 120_000)
      for (const d of defs) expect(await readModel(nc, d.name)).toEqual(foldAll(d, events))
      // Mid catch-up, the outage breaks a chunk's writes or ack: failed (last error kept), backoff, retry.
      expect(defs.some((d) => seen.get(d.name)?.has('failed'))).toBe(true)
      expect(runners.some((r) => r.status().lastError !== undefined)).toBe(true)
      // The control watches lived through the restart (or were reopened): a pause still arrives.
      const catalog = await openProjectionCatalog(nc)
      await catalog.updateControl(eventCounter.name, (c) => ({ ...c, paused: true }))
      await runners[0]?.until((s) => s.state === 'paused', 30_000)
      for (const r of runners) await r.stop()
    } finally {
      await server.close()
    }
  }, 240_000)
})
