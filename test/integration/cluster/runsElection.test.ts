import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { localNatsServerPath } from '../../../src/main/natsServer/findNatsServer.js'
import { clusterProcessorEnv, stopClusterParts } from '../../support/clusterParts.js'
import { readWholeLog } from '../../support/eventLogReader.js'
import { type NatsTopology, startCluster } from '../../support/natsTopologies.js'
import { type ProcessorProcess, spawnProcessor } from '../../support/processor.js'

const WRITERS = 30
const APPENDS = 12
const STREAM = 'hot-election'

/**
 * Runs (ALLSOURCE_GROUP_COMMITS: a busy stream's queued commits as one atomic batch) while the
 * ALLSOURCE_EVENTS leader's node is SIGKILLed: a run refused, timed out or answered by a new leader
 * must still leave every acknowledged commit stored exactly once, at the offset it was answered
 * with, versions gapless, and no wrong answer (clients retry UNAVAILABLE with the same commitId).
 */
describe('runs of one busy stream while the stream leader is killed (3-node cluster, R3, sync always)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-runs-election-'))
  let cluster: NatsTopology | undefined
  let processor: ProcessorProcess | undefined
  let client: NatsConnection | undefined
  afterAll(() => stopClusterParts({ client: () => client, processor: () => processor, cluster: () => cluster, dir }))

  it('loses no acked append, stores none twice, keeps versions gapless, answers retries duplicate at the stored offset', async () => {
    cluster = await startCluster('runs-election', localNatsServerPath(), 3, { extraConfig: 'jetstream { sync_interval: always }' })
    processor = spawnProcessor(clusterProcessorEnv(cluster.urls.join(','), dir, { ALLSOURCE_GROUP_COMMITS: '1' }))
    await processor.ready(60_000)
    client = await connect({ servers: [...cluster.urls] })
    const allsource = createAllSourceClient(client, { timeoutMs: 5_000 })

    const acked = new Map<string, { offset: number; duplicate: boolean }>()
    const wrong: string[] = []
    let started = 0
    let release: () => void = () => undefined
    const warm = new Promise<void>((r) => (release = r))
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; i < APPENDS; i++) {
        if (i === 3 && ++started === WRITERS) release()
        const commitId = `${STREAM}-w${w}-${i}`
        const r = await allsource.tryAppend('acme', STREAM, [{ type: 'written', payload: { w, i } }], { commitId, retry: { deadlineMs: 60_000 } })
        if (E.isLeft(r)) wrong.push(`${commitId}: ${r.left.code} ${r.left.message}`)
        else acked.set(commitId, { offset: r.right.offset, duplicate: r.right.duplicate === true })
      }
    }
    const writers = Promise.all([...Array(WRITERS).keys()].map(writer))
    await warm
    const jsm = await jetstreamManager(client)
    const leader = (await jsm.streams.info('ALLSOURCE_EVENTS')).cluster?.leader
    const victim = cluster.nodes.find((_, i) => `n${i}` === leader)
    if (victim === undefined) throw new Error(`no node leads ALLSOURCE_EVENTS (${leader ?? 'none'})`)
    victim.kill('SIGKILL')
    await writers

    expect(wrong).toEqual([])
    expect(acked.size).toBe(WRITERS * APPENDS)
    const commits = (await readWholeLog(client)).filter((c) => c.body.stream === STREAM)
    // Every acked commit stored once, at the offset its answer gave; versions gapless.
    expect(new Set(commits.map((c) => c.msgId)).size).toBe(commits.length)
    expect(commits).toHaveLength(WRITERS * APPENDS)
    expect(commits.flatMap((c) => c.body.events.map((e) => e.version))).toEqual([...Array(WRITERS * APPENDS).keys()].map((k) => k + 1))
    for (const c of commits) expect(acked.get(c.msgId)?.offset).toBe(c.offset)
    // The queued commits did go out as runs: several commits of this one stream share a batch.
    const perBatch = new Map<string, number>()
    for (const c of commits) if (c.batchId !== '') perBatch.set(c.batchId, (perBatch.get(c.batchId) ?? 0) + 1)
    expect([...perBatch.values()].some((n) => n >= 2)).toBe(true)
    expect(processor.proc.exitCode).toBeNull()
    console.log('runs election figures', JSON.stringify({ killed: leader, runs: perBatch.size, largestRun: Math.max(...perBatch.values()), answeredDuplicate: [...acked.values()].filter((a) => a.duplicate).length }))
  }, 150_000)
})
