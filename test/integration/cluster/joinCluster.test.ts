import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, describe, expect, it } from 'vitest'
import { localNatsServerPath } from '../../../src/main/natsServer/findNatsServer.js'
import { freePort } from '../../../src/main/natsServer/launchNatsServer.js'
import { serversOf } from '../../../src/main/natsConnection.js'
import { clusterProcessorEnv, stopClusterParts } from '../../support/clusterParts.js'
import { type NatsTopology, startCluster } from '../../support/natsTopologies.js'
import { type ProcessorProcess, spawnProcessor } from '../../support/processor.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const te = new TextEncoder()
const td = new TextDecoder()

/** Appends one event as a client would, retrying what a leader election answers (no responders, timeouts, UNAVAILABLE) with the same commitId. */
const appendWithRetry = async (nc: NatsConnection, stream: string, commitId: string, deadlineMs: number): Promise<Record<string, unknown>> => {
  const h = headers()
  h.set('Content-Type', 'application/json')
  const body = te.encode(JSON.stringify({ commitId, events: [{ type: 'probe', payload: { commitId } }] }))
  const until = Date.now() + deadlineMs
  let last = ''
  while (Date.now() < until) {
    try {
      const reply = JSON.parse(td.decode((await nc.request(`allsource.append.acme.${stream}`, body, { headers: h, timeout: 5_000 })).data)) as Record<string, unknown>
      const code = (reply.error as { code?: string } | undefined)?.code
      if (code !== 'UNAVAILABLE') return reply
      last = JSON.stringify(reply)
    } catch (e) {
      last = e instanceof Error ? e.message : String(e)
    }
    await sleep(250)
  }
  throw new Error(`no answer within ${deadlineMs} ms: ${last}`)
}

describe('npm start joins an existing cluster given several URLs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-join-'))
  let cluster: NatsTopology | undefined
  let processor: ProcessorProcess | undefined
  let client: NatsConnection | undefined
  afterAll(() => stopClusterParts({ client: () => client, processor: () => processor, cluster: () => cluster, dir }))

  it('parses a comma-separated NATS_URL into its servers', () => {
    expect(serversOf('nats://a:4222, nats://b:4222,,nats://c:4222 ')).toEqual(['nats://a:4222', 'nats://b:4222', 'nats://c:4222'])
    expect(serversOf('127.0.0.1:4222')).toEqual(['127.0.0.1:4222'])
  })

  it('starts while the first listed server is down, and keeps serving when its node is killed', async () => {
    cluster = await startCluster('join', localNatsServerPath())
    const [n0, n1, n2] = cluster.nodes
    if (n0 === undefined || n1 === undefined || n2 === undefined) throw new Error('a 3-node cluster')
    const dead = `nats://127.0.0.1:${await freePort()}`
    // Only n0 and a dead URL are given (a client that took one URL would take the last, the dead
    // one); after n0 dies, the processor must find n1/n2 by itself, from the cluster's gossip.
    processor = spawnProcessor(clusterProcessorEnv(`${n0.url},${dead}`, dir))
    await processor.ready(60_000)

    client = await connect({ servers: [n1.url, n2.url] })
    const first = await appendWithRetry(client, 'join-1', 'join-c1', 30_000)
    expect(first).toMatchObject({ tenant: 'acme', stream: 'join-1', fromVersion: 1, toVersion: 1 })

    await n0.stop()
    const second = await appendWithRetry(client, 'join-1', 'join-c2', 60_000)
    expect(second).toMatchObject({ fromVersion: 2, toVersion: 2 })
    // The retry of a stored commit is a duplicate, never a conflict.
    const again = await appendWithRetry(client, 'join-1', 'join-c2', 30_000)
    expect(again).toMatchObject({ fromVersion: 2, toVersion: 2, duplicate: true })
    expect(processor.proc.exitCode).toBeNull()
  })
})
