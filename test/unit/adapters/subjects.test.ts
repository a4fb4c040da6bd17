import { describe, expect, it } from 'vitest'
import { defaultPrefix, kvSubject, microDiscoverySubjects, subjects } from '../../../src/adapters/nats/subjects.js'

/** DESIGN.md's subject table, written for a prefix `p` (the contract's strings with `allsource` replaced). */
const contract = (p: string) => ({
  events: `${p}.events.t1.s1`,
  eventsOfTenant: `${p}.events.t1.>`,
  eventsPrefixOf: `${p}.events.t1.`,
  eventsWildcard: `${p}.events.>`,
  append: `${p}.append.t1.s1`,
  read: `${p}.read.t1.s1`,
  query: `${p}.query.t1`,
  ingest: `${p}.ingest.t1.s1`,
  ingestWildcard: `${p}.ingest.>`,
  dlq: `${p}.dlq.t1.s1`,
  dlqWildcard: `${p}.dlq.>`,
  dlqOfTenant: `${p}.dlq.t1.>`,
  projection: `${p}.projection.t1.counter`,
  projectionTopic: `${p}.projections.t1.counter.a.b`,
  adminProjections: `${p}.admin.projections`,
  adminProjection: `${p}.admin.projection.counter.rebuild`,
  adminTenants: `${p}.admin.tenants.create`,
  adminKeys: `${p}.admin.t1.keys.revoke`,
})

const built = (p?: string) => {
  const s = subjects(p)
  return {
    events: s.events('t1', 's1'),
    eventsOfTenant: s.eventsOf('t1'),
    eventsPrefixOf: s.eventsPrefixOf('t1'),
    eventsWildcard: s.eventsWildcard,
    append: s.append('t1', 's1'),
    read: s.read('t1', 's1'),
    query: s.query('t1'),
    ingest: s.ingest('t1', 's1'),
    ingestWildcard: s.ingestWildcard,
    dlq: s.dlq('t1', 's1'),
    dlqWildcard: s.dlqWildcard,
    dlqOfTenant: s.dlqOf('t1'),
    projection: s.projection('t1', 'counter'),
    projectionTopic: s.projectionTopic('t1', 'counter', 'a.b'),
    adminProjections: s.adminProjections,
    adminProjection: s.adminProjection('counter', 'rebuild'),
    adminTenants: s.adminTenants('create'),
    adminKeys: s.adminKeys('t1', 'revoke'),
  }
}

describe('subjects: every subject of the wire contract, built in one place', () => {
  it('the default prefix is allsource, and every subject matches DESIGN.md', () => {
    expect(defaultPrefix).toBe('allsource')
    expect(built()).toEqual(contract('allsource'))
    // spelled out once, so a change to the helper above cannot hide a change of the contract
    expect(subjects().append('t1', 's1')).toBe('allsource.append.t1.s1')
    expect(subjects().query('t1')).toBe('allsource.query.t1')
    expect(subjects().projectionTopic('t1', 'counter', 'k')).toBe('allsource.projections.t1.counter.k')
  })

  it('a custom prefix moves every subject', () => {
    expect(built('acme.es')).toEqual(contract('acme.es'))
    expect(subjects('acme').prefix).toBe('acme')
  })

  it('a one-stream filter is the stream subject; no tenant in the dead-letter filter means every dead letter', () => {
    expect(subjects().eventsOf('t1', 's1')).toBe(subjects().events('t1', 's1'))
    expect(subjects('x').dlqOf()).toBe('x.dlq.>')
  })

  it('an endpoint announces one `*` per token and listens on `<verb>.>` and the bare verb', () => {
    expect(subjects().endpoint('append', 2)).toEqual({ base: 'allsource.append', announced: 'allsource.append.*.*', listen: ['allsource.append.>', 'allsource.append'] })
    expect(subjects('p').endpoint('query', 1)).toEqual({ base: 'p.query', announced: 'p.query.*', listen: ['p.query.>', 'p.query'] })
    expect(subjects().endpoint('admin.projection', 2).announced).toBe('allsource.admin.projection.*.*')
    expect(subjects().endpoint('admin.projections', 0)).toEqual({ base: 'allsource.admin.projections', announced: 'allsource.admin.projections', listen: ['allsource.admin.projections'] })
  })

  it('the key admin endpoint listens under admin.*.keys and reads the tenant and command back', () => {
    const s = subjects('acme.es')
    expect(s.adminKeysEndpoint).toEqual({ announced: 'acme.es.admin.*.keys.*', listen: ['acme.es.admin.*.keys', 'acme.es.admin.*.keys.>'] })
    expect(s.adminKeysTokens(s.adminKeys('t1', 'create'))).toEqual({ tenant: 't1', rest: ['create'] })
    expect(s.adminKeysTokens('acme.es.admin.t1.keys')).toEqual({ tenant: 't1', rest: [] })
    expect(s.adminKeysTokens('acme.es.admin.t1.keys.a.b')).toEqual({ tenant: 't1', rest: ['a', 'b'] })
    expect(s.adminKeysTokens('acme.es.admin.projection.counter.status')).toBeUndefined()
    expect(s.adminKeysTokens('other.admin.t1.keys.create')).toBeUndefined()
  })

  it('micro discovery and KV subjects do not depend on the prefix', () => {
    expect(microDiscoverySubjects('PING', 'allsource', 'abc')).toEqual(['$SRV.PING', '$SRV.PING.allsource', '$SRV.PING.allsource.abc'])
    expect(kvSubject('ALLSOURCE_ID_INDEX', 't1.aWQ')).toBe('$KV.ALLSOURCE_ID_INDEX.t1.aWQ')
  })

  it('maps an ingest subject to its dead letter and back, tokens kept as sent', () => {
    const s = subjects('acme.es')
    expect(s.ingestTokens('acme.es.ingest.t1.s1')).toBe('t1.s1')
    expect(s.ingestTokens('acme.es.events.t1.s1')).toBeUndefined()
    expect(s.dlqFor('acme.es.ingest.t1.s1')).toBe('acme.es.dlq.t1.s1')
    expect(s.dlqFor('acme.es.ingest.t1.a.b')).toBe('acme.es.dlq.t1.a.b')
    expect(s.ingestFor('acme.es.dlq.t1.a.b')).toBe('acme.es.ingest.t1.a.b')
    expect(s.ingestFor('other.dlq.t1.s1')).toBeUndefined()
  })
})
