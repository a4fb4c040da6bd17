import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, describe, expect, it } from 'vitest'
import { isAllSourceStream } from '../../../src/adapters/nats/log/replicas.js'
import { localNatsServerPath } from '../../../src/main/natsServer/findNatsServer.js'
import { stopClusterParts } from '../../support/clusterParts.js'
import { readWholeLog } from '../../support/eventLogReader.js'
import { type NatsTopology, startCluster } from '../../support/natsTopologies.js'
import { type ProcessorProcess, spawnProcessor } from '../../support/processor.js'
import { waitFor } from '../../support/projections.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Every AllSource stream and KV bucket on the cluster, with its replica count. */
const replicasByStream = async (nc: NatsConnection): Promise<Record<string, number>> => {
  const out: Record<string, number> = {}
  for await (const info of (await jetstreamManager(nc)).streams.list()) {
    if (isAllSourceStream(info.config.name)) out[info.config.name] = info.config.num_replicas
  }
  return out
}

/** Publishes one ingest message, retrying with the same msgID until JetStream acks it (an election answers timeouts or no responders for a while). */
const publishIngest = async (nc: NatsConnection, stream: string, n: number): Promise<void> => {
  const js = jetstream(nc, { timeout: 2_000 })
  for (;;) {
    try {
      await js.publish(`allsource.ingest.acme.${stream}`, JSON.stringify({ type: 'ingested', payload: { n } }), { msgID: `ing-${stream}-${n}` })
      return
    } catch {
      await sleep(200)
    }
  }
}

describe('ALLSOURCE_REPLICAS=3 on a 3-node cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-replication-'))
  let cluster: NatsTopology | undefined
  let processor: ProcessorProcess | undefined
  let client: NatsConnection | undefined
  afterAll(() => stopClusterParts({ client: () => client, processor: () => processor, cluster: () => cluster, dir }))

  it('puts every AllSource stream and KV bucket at R3, raising the ones an earlier R1 start left', async () => {
    cluster = await startCluster('replication', localNatsServerPath())
    client = await connect({ servers: [...cluster.urls] })
    const jsm = await jetstreamManager(client)
    // What an earlier R1 start leaves behind: ingest and the leases bucket at one replica.
    await jsm.streams.add({ name: 'ALLSOURCE_INGEST', subjects: ['allsource.ingest.>'], retention: RetentionPolicy.Workqueue, storage: StorageType.File, num_replicas: 1 })
    await new Kvm(client).create('ALLSOURCE_LEASES', { history: 1, replicas: 1 })

    processor = spawnProcessor({
      NATS_URL: cluster.urls.join(','),
      ALLSOURCE_AUTH: 'off',
      ALLSOURCE_REPLICAS: '3',
      // REPLICATION_LEASE_MS=2000 makes the kill cost ingest its lease (docs/reliability.md measures both).
      ALLSOURCE_LEASE_MS: process.env.REPLICATION_LEASE_MS ?? '10000',
      ALLSOURCE_HTTP_PORT: '0',
      ALLSOURCE_DATA_DIR: dir,
    })
    await processor.ready(60_000)
    // Read models are created when a projection takes its lease and starts folding.
    await waitFor(async () => Object.keys(await replicasByStream(client as NatsConnection)).filter((n) => n.startsWith('KV_ALLSOURCE_PROJ_')).length >= 3, 30_000, 'the read-model buckets')

    const replicas = await replicasByStream(client)
    expect(Object.keys(replicas).sort()).toEqual(
      expect.arrayContaining([
        'ALLSOURCE_EVENTS',
        'ALLSOURCE_INGEST',
        'ALLSOURCE_DLQ',
        'KV_ALLSOURCE_LEASES',
        'KV_ALLSOURCE_SUPPLIED_IDS',
        'KV_ALLSOURCE_SNAPSHOTS',
        'KV_ALLSOURCE_PROJECTIONS',
        'KV_ALLSOURCE_PROJ_entity-state_1',
        'KV_ALLSOURCE_PROJ_event-counter_1',
        'KV_ALLSOURCE_PROJ_event-frequency_1',
      ]),
    )
    expect(Object.entries(replicas).filter(([, r]) => r !== 3)).toEqual([])
    expect(processor.output()).toMatch(/stream ALLSOURCE_INGEST: replicas raised from 1 to 3/)
    expect(processor.output()).toMatch(/stream KV_ALLSOURCE_LEASES: replicas raised from 1 to 3/)
  }, 60_000)

  it('survives the kill of the node leading ingest: the processor stays up, and every acked ingest message is appended exactly once, in order', async () => {
    if (cluster === undefined || client === undefined || processor === undefined) throw new Error('needs the first test')
    const jsm = await jetstreamManager(client)
    const streams = ['ing-a', 'ing-b', 'ing-c']
    let published = 0
    const publishSome = async (count: number, pauseMs = 0) => {
      for (let i = 0; i < count; i++, published++) {
        await Promise.all(streams.map((s) => publishIngest(client as NatsConnection, s, published)))
        if (pauseMs > 0) await sleep(pauseMs)
      }
    }
    await publishSome(20)
    await waitFor(async () => (await jsm.streams.info('ALLSOURCE_EVENTS')).state.messages === 20 * streams.length, 30_000, 'ingest before the fault')

    const leader = (await jsm.streams.info('ALLSOURCE_INGEST')).cluster?.leader
    const victim = cluster.nodes.find((_, i) => `n${i}` === leader)
    if (victim === undefined) throw new Error(`no node leads ALLSOURCE_INGEST (${leader ?? 'none'})`)
    // Publishing goes on while the node dies and the ingest stream and lease bucket elect new leaders.
    const during = publishSome(30, 50)
    await sleep(300)
    const t0 = Date.now()
    victim.kill('SIGKILL')
    await during
    await publishSome(20)

    const expected = published * streams.length
    // Counted from stream info: a reader's pull lost in the election would stall for its expiry.
    const count = async () => (await jsm.streams.info('ALLSOURCE_EVENTS')).state.messages
    await waitFor(() => count().then((n) => n >= expected, () => false), 60_000, `${expected} commits in the log`)
    const resumedAfterMs = Date.now() - t0
    // Give a duplicate (a redelivery the dedupe missed) the chance to show up before counting.
    console.log('ingest leader kill figures', JSON.stringify({ killed: leader, allAppendedAfterKillMs: resumedAfterMs, leaseLost: /ingest lease lost/.test(processor.output()) }))
    await sleep(1_000)
    const log = await readWholeLog(client)
    for (const s of streams) {
      const ns = log.filter((c) => c.body.stream === s).map((c) => (c.body.events[0]?.payload as { n: number }).n)
      expect(ns).toEqual([...Array(published).keys()])
    }
    expect(log).toHaveLength(expected)
    expect(processor.proc.exitCode).toBeNull()
    expect(processor.output()).not.toMatch(/unhandled rejection|uncaught|exiting/i)
  }, 90_000)
})
