import { connect, type NatsConnection } from '@nats-io/transport-node'
import { beforeAll, describe, expect, it } from 'vitest'
import { createAllSourceClient, type AllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { createAllSource } from '../../../src/main/allSource.js'
import { readWholeLog } from '../../support/eventLogReader.js'
import { withProcessor } from '../../support/processorFixture.js'

describe('idempotent appends by commitId', () => {
  const fixture = withProcessor()
  let nc: NatsConnection
  let client: AllSourceClient

  beforeAll(() => {
    nc = fixture().nc
    client = createAllSourceClient(nc)
  })

  it('writes a retried commit once and answers the retry with duplicate: true and the first result', async () => {
    const events = [{ type: 'order.placed', payload: { total: 10 } }]
    const first = await client.append('acme', 'order-1', events, { expectedVersion: 'no_stream', commitId: 'commit-a' })
    const retry = await client.append('acme', 'order-1', events, { expectedVersion: 'no_stream', commitId: 'commit-a' })
    expect(first.duplicate).toBeUndefined()
    expect(retry).toEqual({ ...first, duplicate: true })

    const log = (await readWholeLog(nc)).filter((c) => c.msgId === 'commit-a')
    expect(log).toHaveLength(1)
  })

  it('answers a retry as a duplicate even after the stream moved on (checked before expectedVersion)', async () => {
    const first = await client.append('acme', 'order-2', [{ type: 'a', payload: 1 }], { expectedVersion: 0, commitId: 'commit-b' })
    await client.append('acme', 'order-2', [{ type: 'b', payload: 2 }], { expectedVersion: 1 })
    const retry = await client.append('acme', 'order-2', [{ type: 'a', payload: 1 }], { expectedVersion: 0, commitId: 'commit-b' })
    expect(retry).toEqual({ ...first, duplicate: true })
  })

  it('answers a retry from a fresh processor (no memory of the first) as a duplicate', async () => {
    const first = await client.append('acme', 'order-3', [{ type: 'a', payload: 1 }], { commitId: 'commit-c' })
    const other = await connect({ servers: fixture().server.url })
    const fresh = await createAllSource({ nc: other })
    const retry = await fresh.append('acme', 'order-3', [{ type: 'a', payload: 1 }], { commitId: 'commit-c' })
    expect(retry).toEqual({ _tag: 'Right', right: { ...first, duplicate: true } })
    await fresh.close()
    await other.close()
  })

  it('refuses a commitId reused for another stream with BAD_REQUEST and writes nothing', async () => {
    await client.append('acme', 'order-4', [{ type: 'a', payload: 1 }], { commitId: 'commit-d' })
    const r = await client.tryAppend('acme', 'order-5', [{ type: 'a', payload: 1 }], { commitId: 'commit-d' })
    expect(r._tag === 'Left' && r.left.code).toBe('BAD_REQUEST')
    const log = await readWholeLog(nc)
    expect(log.filter((c) => c.body.stream === 'order-5')).toHaveLength(0)
  })
})
