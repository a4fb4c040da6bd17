import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AllSourceError, createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'
import { readWholeLog } from '../../support/eventLogReader.js'

// Two processors in one queue group on separate connections: requests for one stream land on
// both, so their actors race in JetStream and the expected-sequence check decides.
describe('optimistic concurrency under 50 concurrent appenders', () => {
  let server: TestNatsServer
  const conns: NatsConnection[] = []
  const apps: AllSource[] = []

  beforeAll(async () => {
    server = await startNatsServer()
    for (let i = 0; i < 2; i++) {
      const nc = await connect({ servers: server.url })
      conns.push(nc)
      const app = await createAllSource({ nc })
      await app.serve()
      apps.push(app)
    }
  })

  afterAll(async () => {
    for (const a of apps) await a.close()
    for (const c of conns) await c.close()
    await server?.stop()
  })

  it('lets exactly one of 50 appenders with expectedVersion 0 win', async () => {
    const nc = await connect({ servers: server.url })
    const client = createAllSourceClient(nc)
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.tryAppend('acme', 'race-0', [{ type: 'tick', payload: { i } }], { expectedVersion: 0 })),
    )
    const wins = results.filter((r) => r._tag === 'Right')
    const losses = results.flatMap((r) => (r._tag === 'Left' ? [r.left] : []))
    expect(wins).toHaveLength(1)
    expect(losses).toHaveLength(49)
    for (const l of losses) {
      expect(l).toBeInstanceOf(AllSourceError)
      expect(l.code).toBe('WRONG_EXPECTED_VERSION')
      expect(l.details).toMatchObject({ expected: 0, actual: 1 })
    }
    await nc.close()
  })

  it('gives every version to exactly one commit, gapless, when 50 appenders each append with the version they read', async () => {
    const nc = await connect({ servers: server.url })
    const client = createAllSourceClient(nc)
    const perAppender = 4
    let conflicts = 0
    const appender = async (who: number): Promise<number[]> => {
      let version = 0
      const won: number[] = []
      while (won.length < perAppender) {
        const r = await client.tryAppend('acme', 'race-1', [{ type: 'tick', payload: { who, n: won.length } }], { expectedVersion: version })
        if (r._tag === 'Right') {
          won.push(r.right.toVersion)
          version = r.right.toVersion
        } else {
          expect(r.left.code).toBe('WRONG_EXPECTED_VERSION')
          expect(r.left.details.expected).toBe(version)
          conflicts++
          version = r.left.details.actual as number
        }
      }
      return won
    }
    const won = (await Promise.all(Array.from({ length: 50 }, (_, i) => appender(i)))).flat()
    const total = 50 * perAppender
    expect(won.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    expect(conflicts).toBeGreaterThan(0)

    const log = (await readWholeLog(nc)).filter((c) => c.body.stream === 'race-1')
    const versions = log.flatMap((c) => c.body.events.map((e) => e.version))
    expect(versions).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    await nc.close()
  })
})
