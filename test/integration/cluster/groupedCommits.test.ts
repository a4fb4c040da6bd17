import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import { localNatsServerPath } from '../../../src/main/natsServer/findNatsServer.js'
import { createAllSource, type AllSource } from '../../../src/main/allSource.js'
import { cleanUp } from '../../support/cleanUp.js'
import { type NatsTopology, startCluster } from '../../support/natsTopologies.js'

/**
 * Grouped commits on a 3-node cluster with three replicas: the batch is proposed as one
 * multi-entry proposal and its staging is in memory (docs/performance.md, "Durable mode"). Same
 * promise as on one replica: nothing acknowledged lost, nothing stored twice, versions gapless.
 */
describe('grouped commits on a 3-node cluster (R3)', () => {
  let cluster: NatsTopology | undefined
  let nc: NatsConnection | undefined
  let app: AllSource | undefined
  afterAll(() =>
    cleanUp(
      () => app?.close(),
      () => nc?.close(),
      () => cluster?.stop(),
    ),
  )

  it('loses nothing and stores nothing twice under racing writers with retries of the same commitIds', async () => {
    cluster = await startCluster('grouped', localNatsServerPath(), 3, { extraConfig: 'jetstream { sync_interval: always }' })
    nc = await connect({ servers: [...cluster.urls] })
    app = await createAllSource({ nc, replicas: 3, groupCommits: { minBatch: 2 } })
    const streams = 20
    const rounds = 4
    const acked = new Map<string, number>()
    await Promise.all(
      Array.from({ length: streams * 2 }, async (_, w) => {
        const stream = `race-${w % streams}`
        for (let i = 0; i < rounds; i++) {
          const a = app as AllSource
          const first = await a.append('g', stream, [{ type: 'probe', payload: { w, i } }], { commitId: `c-${w}-${i}` })
          if (E.isLeft(first)) throw new Error(JSON.stringify(first.left))
          const again = await a.append('g', stream, [{ type: 'probe', payload: { w, i } }], { expectedVersion: 0, commitId: `c-${w}-${i}` })
          if (E.isLeft(again)) throw new Error(`retry of c-${w}-${i}: ${JSON.stringify(again.left)}`)
          expect(again.right).toMatchObject({ duplicate: true, offset: first.right.offset })
          acked.set(`c-${w}-${i}`, first.right.offset)
        }
      }),
    )
    const jsm = await jetstreamManager(nc)
    expect((await jsm.streams.info('ALLSOURCE_EVENTS')).config).toMatchObject({ num_replicas: 3, allow_atomic: true })
    let batched = 0
    for (const [commitId, offset] of acked) {
      const m = await jsm.streams.getMessage('ALLSOURCE_EVENTS', { seq: offset })
      expect(m?.header.get('Nats-Msg-Id')).toBe(commitId)
      if (m?.header.get('Nats-Batch-Id') !== '') batched++
    }
    expect(batched).toBeGreaterThan(0)
    expect((await jsm.streams.info('ALLSOURCE_EVENTS')).state.messages).toBe(streams * 2 * rounds)
    for (let s = 0; s < streams; s++) {
      const page = await app.read('g', `race-${s}`)
      if (E.isLeft(page)) throw new Error(JSON.stringify(page.left))
      expect(page.right.events.map((e) => e.version)).toEqual(Array.from({ length: 2 * rounds }, (_, k) => k + 1))
    }
  }, 120_000)

  it('one busy stream on three replicas: its queued commits go out as runs, every version once, retries answered duplicate', async () => {
    const a = app as AllSource
    const acked = new Map<string, number>()
    await Promise.all(
      Array.from({ length: 30 }, async (_, w) => {
        for (let i = 0; i < 4; i++) {
          const commitId = `hot-${w}-${i}`
          const first = await a.append('g', 'hot-r3', [{ type: 'probe', payload: { w, i } }], { commitId })
          if (E.isLeft(first)) throw new Error(`${commitId}: ${JSON.stringify(first.left)}`)
          acked.set(commitId, first.right.offset)
          if (i === 0) {
            const again = await a.append('g', 'hot-r3', [{ type: 'probe', payload: { w, i } }], { commitId })
            if (E.isLeft(again)) throw new Error(`retry of ${commitId}: ${JSON.stringify(again.left)}`)
            expect(again.right).toMatchObject({ duplicate: true, offset: first.right.offset })
          }
        }
      }),
    )
    expect(a.runs().stored).toBeGreaterThan(0)
    const page = await a.read('g', 'hot-r3', { limit: 1_000 })
    if (E.isLeft(page)) throw new Error(JSON.stringify(page.left))
    expect(page.right.events.map((e) => e.version)).toEqual(Array.from({ length: acked.size }, (_, k) => k + 1))
    const jsm = await jetstreamManager(nc as NatsConnection)
    for (const [commitId, offset] of acked) expect((await jsm.streams.getMessage('ALLSOURCE_EVENTS', { seq: offset }))?.header.get('Nats-Msg-Id')).toBe(commitId)
  }, 120_000)
})
