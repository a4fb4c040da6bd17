import { describe, expect, it } from 'vitest'
import { withProcessor } from '../../support/processorFixture.js'

describe('bounded memory: resident stream actors', () => {
  const cap = 500
  const fixture = withProcessor({ maxResidentStreams: cap, serve: false })

  it('keeps resident actors under the cap while 20,000 distinct streams are touched', async () => {
    const { app } = fixture()
    const streams = 20_000
    const concurrency = 200
    let next = 0
    let maxSeen = 0
    let failures = 0
    const worker = async () => {
      while (next < streams) {
        const i = next++
        const r = await app.append('acme', `entity-${i}`, [{ type: 'touched', payload: { i } }])
        if (r._tag === 'Left') failures++
        maxSeen = Math.max(maxSeen, app.supervisor.resident)
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    expect(failures).toBe(0)
    // Busy actors are never cut off, so the cap can be exceeded by at most the work in flight.
    expect(maxSeen).toBeLessThanOrEqual(cap + concurrency)
    expect(app.supervisor.resident).toBeLessThanOrEqual(cap)
    expect(app.supervisor.inFlight).toBe(0)
  })

  it('still serves a passivated stream from the log, continuing its versions', async () => {
    const { app } = fixture()
    const r = await app.append('acme', 'entity-0', [{ type: 'touched-again', payload: {} }], { expectedVersion: 1 })
    expect(r).toMatchObject({ _tag: 'Right', right: { fromVersion: 2, toVersion: 2 } })
  })
})
