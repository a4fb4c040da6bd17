import { beforeAll, describe, expect, it } from 'vitest'
import { withProcessor } from '../../support/processorFixture.js'

// A server that calls a connection slow once 20 MB wait for it: well under what count-capped pulls
// of large commits would ask for (256 × 0.9 MB), above what byte-capped ones may (4 consumers × ~4.25 MB).
const TIGHT = 'max_pending: 20MB'

describe('slow readers of large commits slow down; the server does not cut the processor connection', () => {
  const fixture = withProcessor({ server: { config: TIGHT }, consumers: { max: 4 } })
  const disconnects: string[] = []

  beforeAll(async () => {
    const app = fixture().app
    for (let i = 0; i < 24; i++) {
      const r = await app.append('acme', `big-${i % 2}`, [{ type: 'blob', payload: { i, s: 'z'.repeat(900_000) } }])
      if (r._tag === 'Left') throw new Error(JSON.stringify(r.left))
    }
    ;(async () => {
      for await (const s of fixture().nc.status()) if (s.type === 'disconnect' || s.type === 'error' || s.type === 'slowConsumer') disconnects.push(s.type)
    })().catch(() => undefined)
  })

  it('two slow replays and two queries over 21 MB of 0.9 MB commits: all complete, no disconnect', { timeout: 30_000 }, async () => {
    const app = fixture().app
    const slowReplay = async () => {
      let n = 0
      for await (const e of app.replay({ tenant: 'acme' })) {
        n += e.version > 0 ? 1 : 0
        await new Promise((r) => setTimeout(r, 20))
      }
      return n
    }
    const query = async () => {
      const r = await app.query('acme', { stream: 'big-0' })
      return r._tag === 'Right' ? r.right.events.length : -1
    }
    const [a, b, c, d] = await Promise.all([slowReplay(), slowReplay(), query(), query()])
    expect([a, b]).toEqual([24, 24])
    expect([c, d]).toEqual([12, 12])
    expect(disconnects).toEqual([])
  })
})
