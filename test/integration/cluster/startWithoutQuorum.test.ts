import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, describe, expect, it } from 'vitest'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { localNatsServerPath } from '../../../src/main/natsServer/findNatsServer.js'
import { stopClusterParts } from '../../support/clusterParts.js'
import { type NatsTopology, startCluster } from '../../support/natsTopologies.js'
import { type ProcessorProcess, spawnProcessor } from '../../support/processor.js'
import { waitFor } from '../../support/projections.js'

describe('npm start while the cluster has no JetStream quorum', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-quorum-'))
  let cluster: NatsTopology | undefined
  let processor: ProcessorProcess | undefined
  let client: NatsConnection | undefined
  afterAll(() => stopClusterParts({ client: () => client, processor: () => processor, cluster: () => cluster, dir }))

  it('waits for JetStream instead of exiting, and serves once two nodes are back', async () => {
    cluster = await startCluster('quorum', localNatsServerPath())
    const [n0, n1, n2] = cluster.nodes
    if (n0 === undefined || n1 === undefined || n2 === undefined || cluster.restart === undefined) throw new Error('a 3-node cluster')
    // One node of three: NATS answers, JetStream cannot (no meta leader), as in a long election.
    await Promise.all([n1.stop(), n2.stop()])
    processor = spawnProcessor({
      NATS_URL: cluster.urls.join(','),
      ALLSOURCE_AUTH: 'off',
      ALLSOURCE_REPLICAS: '3',
      ALLSOURCE_HTTP_PORT: '0',
      ALLSOURCE_DATA_DIR: dir,
    })
    const p = processor
    await waitFor(() => /JetStream cannot do it now/.test(p.output()) || p.proc.exitCode !== null, 60_000, 'a start-up step to wait for JetStream')
    expect(p.proc.exitCode, p.output()).toBeNull()

    const restart = cluster.restart.bind(cluster)
    await Promise.all([restart(1), restart(2)])
    await p.ready(90_000)
    client = await connect({ servers: [...cluster.urls] })
    const r = await createAllSourceClient(client).append('acme', 'quorum-1', [{ type: 'started', payload: {} }], { retry: { deadlineMs: 30_000 } })
    expect(r).toMatchObject({ fromVersion: 1, toVersion: 1 })
    expect(p.output()).not.toMatch(/unhandled rejection|uncaught/i)
  }, 120_000)
})
