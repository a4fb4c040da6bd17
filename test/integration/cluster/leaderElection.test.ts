import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import { type AllSourceError, createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { localNatsServerPath } from '../../../src/main/natsServer/findNatsServer.js'
import { clusterProcessorEnv, stopClusterParts } from '../../support/clusterParts.js'
import { readWholeLog } from '../../support/eventLogReader.js'
import { type NatsTopology, startCluster } from '../../support/natsTopologies.js'
import { type ProcessorProcess, spawnProcessor } from '../../support/processor.js'

const WRITERS = 8
const APPENDS = 40
/** Appends each writer makes before the stream leader's node is killed. */
const BEFORE_KILL = 5

interface Acked {
  readonly stream: string
  readonly commitId: string
  readonly fromVersion: number
  readonly offset: number
  readonly duplicate: boolean
  readonly startedAt: number
  readonly ackedAt: number
}

describe('appends while the ALLSOURCE_EVENTS leader is killed (3-node cluster, R3)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-election-'))
  let cluster: NatsTopology | undefined
  let processor: ProcessorProcess | undefined
  let client: NatsConnection | undefined
  afterAll(() => stopClusterParts({ client: () => client, processor: () => processor, cluster: () => cluster, dir }))

  it('loses no acked append, stores none twice, keeps versions gapless, and never answers a stored commit WRONG_EXPECTED_VERSION', async () => {
    cluster = await startCluster('election', localNatsServerPath())
    processor = spawnProcessor(clusterProcessorEnv(cluster.urls.join(','), dir))
    await processor.ready(60_000)
    client = await connect({ servers: [...cluster.urls] })
    // 5 s (the client default is 10 s), below the processor's 10 s append deadline: some requests
    // time out while the processor still retries, so their retries meet stored commits.
    const allsource = createAllSourceClient(client, { timeoutMs: Number(process.env.ELECTION_CLIENT_TIMEOUT_MS ?? 5_000) })

    const acked: Acked[] = []
    const wrong: { stream: string; commitId: string; error: AllSourceError }[] = []
    const retries: { at: number; message: string }[] = []
    let killedAt = Number.POSITIVE_INFINITY
    let warmedUp = 0
    let release: () => void = () => undefined
    const killed = new Promise<void>((r) => (release = r))

    const writer = async (w: number): Promise<void> => {
      const stream = `election-${w}`
      for (let i = 0; i < APPENDS; i++) {
        if (i === BEFORE_KILL && ++warmedUp === WRITERS) release()
        if (i === BEFORE_KILL) await killed
        const commitId = `${stream}-c${i}`
        const startedAt = Date.now()
        const r = await allsource.tryAppend('acme', stream, [{ type: 'written', payload: { w, i } }], {
          expectedVersion: i,
          commitId,
          retry: { deadlineMs: 60_000, onRetry: (e) => retries.push({ at: Date.now(), message: e.message }) },
        })
        if (E.isLeft(r)) {
          wrong.push({ stream, commitId, error: r.left })
          return
        }
        acked.push({ stream, commitId, fromVersion: r.right.fromVersion, offset: r.right.offset, duplicate: r.right.duplicate === true, startedAt, ackedAt: Date.now() })
      }
    }
    const writers = Promise.all([...Array(WRITERS).keys()].map(writer))
    await killed
    const jsm = await jetstreamManager(client)
    const leader = (await jsm.streams.info('ALLSOURCE_EVENTS')).cluster?.leader
    const victim = cluster.nodes.find((_, i) => `n${i}` === leader)
    if (victim === undefined) throw new Error(`no node leads ALLSOURCE_EVENTS (${leader ?? 'none'})`)
    killedAt = Date.now()
    victim.kill('SIGKILL')
    await writers

    expect(wrong.map((x) => `${x.commitId}: ${x.error.code} ${x.error.message}`)).toEqual([])
    expect(acked).toHaveLength(WRITERS * APPENDS)
    const log = await readWholeLog(client)
    for (let w = 0; w < WRITERS; w++) {
      const stream = `election-${w}`
      const commits = log.filter((c) => c.body.stream === stream)
      // Every acked commit stored once, at the offset its reply gave, with gapless versions.
      expect(commits.map((c) => c.msgId)).toEqual([...Array(APPENDS).keys()].map((i) => `${stream}-c${i}`))
      expect(commits.flatMap((c) => c.body.events.map((e) => e.version))).toEqual([...Array(APPENDS).keys()].map((i) => i + 1))
      const replies = acked.filter((a) => a.stream === stream)
      for (const a of replies) expect(commits.find((c) => c.msgId === a.commitId)?.offset).toBe(a.offset)
    }
    expect(processor.proc.exitCode).toBeNull()

    // Figures for docs/reliability.md (printed, not asserted: the machine is shared).
    const after = acked.filter((a) => a.startedAt >= killedAt)
    console.log(
      'leader election figures',
      JSON.stringify({
        killed: leader,
        firstAckAfterKillMs: Math.min(...after.map((a) => a.ackedAt)) - killedAt,
        slowestAppendMs: Math.max(...acked.map((a) => a.ackedAt - a.startedAt)),
        clientRetries: retries.length,
        retryReasons: [...new Set(retries.map((r) => r.message.replace(/\d+/g, 'N')))],
        answeredDuplicate: acked.filter((a) => a.duplicate).length,
      }),
    )
  }, 120_000)
})
