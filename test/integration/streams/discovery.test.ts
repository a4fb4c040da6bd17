import { describe, expect, it } from 'vitest'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { withProcessor } from '../../support/processorFixture.js'

describe('NATS micro discovery', () => {
  const fixture = withProcessor()

  const ask = async (subject: string) =>
    JSON.parse(new TextDecoder().decode((await fixture().nc.request(subject, undefined, { timeout: 2_000 })).data))

  it('answers $SRV.PING, INFO and STATS for the allsource service', async () => {
    const ping = await ask('$SRV.PING.allsource')
    expect(ping).toMatchObject({ type: 'io.nats.micro.v1.ping_response', name: 'allsource' })
    const info = await ask(`$SRV.INFO.allsource.${ping.id}`)
    expect(info.endpoints).toEqual([
      { name: 'append', subject: 'allsource.append.*.*', queue_group: 'allsource', metadata: {} },
      { name: 'read', subject: 'allsource.read.*.*', queue_group: 'allsource', metadata: {} },
      { name: 'query', subject: 'allsource.query.*', queue_group: 'allsource', metadata: {} },
      { name: 'projection', subject: 'allsource.projection.*.*', queue_group: 'allsource', metadata: {} },
      { name: 'projections-status', subject: 'allsource.admin.projections', queue_group: 'allsource', metadata: {} },
      { name: 'projection-admin', subject: 'allsource.admin.projection.*.*', queue_group: 'allsource', metadata: {} },
      { name: 'analytics', subject: 'allsource.analytics.*.*', queue_group: 'allsource', metadata: {} },
      { name: 'pipeline-admin', subject: 'allsource.admin.*.pipelines.*', queue_group: 'allsource-pipelines', metadata: {} },
    ])

    const client = createAllSourceClient(fixture().nc)
    await client.append('acme', 'd-1', [{ type: 'a', payload: 1 }])
    await client.tryAppend('acme', 'd-1', [{ type: 'a', payload: 1 }], { expectedVersion: 7 })
    const stats = await ask('$SRV.STATS.allsource')
    expect(stats.type).toBe('io.nats.micro.v1.stats_response')
    expect(stats.endpoints[0]).toMatchObject({ name: 'append', num_requests: 2, num_errors: 1 })
    expect(stats.endpoints[0].last_error).toMatch(/WRONG_EXPECTED_VERSION/)
  })

  it('tells a client clearly when no processor serves appends', async () => {
    const other = createAllSourceClient(fixture().nc, { prefix: 'nobody' })
    const r = await other.tryAppend('acme', 'd-2', [{ type: 'a', payload: 1 }])
    expect(r._tag === 'Left' && r.left.code).toBe('UNAVAILABLE')
  })
})
