import { connect } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { beforeAll, describe, expect, it } from 'vitest'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { createSubscriptions, type Delivery } from '../../../src/adapters/nats/reading/subscriptions.js'
import type { Filter } from '../../../src/domain/reading/filter.js'
import { withProcessor } from '../../support/processorFixture.js'

const take = async (it: AsyncGenerator<Delivery>, n: number, ack: boolean): Promise<Delivery[]> => {
  const out: Delivery[] = []
  for await (const d of it) {
    if (ack) await d.ack()
    out.push(d)
    if (out.length === n) break
  }
  return out
}

describe('durable named subscriptions', () => {
  const fixture = withProcessor()
  let offsets: number[] = []

  beforeAll(async () => {
    const client = createAllSourceClient(fixture().nc)
    for (let i = 0; i < 60; i++) {
      const r = await client.append(i % 10 === 0 ? 'other' : 'acme', `sub-${i % 3}`, [{ type: 't', payload: { i } }])
      if (r.tenant === 'acme') offsets.push(r.offset)
    }
    offsets = offsets.sort((a, b) => a - b)
  })

  it('delivers only events its where accepts (text or JSON form), keeps the filter over reset and reopen, and acknowledges skipped commits itself', async () => {
    const subs = createSubscriptions(fixture().nc)
    const created = await subs.create('big-i', { tenant: 'acme', from: 'start', where: 'payload.i > 30 and payload.i < 50 and type = "t"' })
    expect(created).toMatchObject({ _tag: 'Right', right: { where: { and: [{ gt: ['payload.i', 30] }, { lt: ['payload.i', 50] }, { eq: ['type', 't'] }] } } })
    const opened = await subs.open('acme', 'big-i')
    if (E.isLeft(opened)) throw new Error('open failed')
    const got = await take(opened.right, 18, true) // i in 31..49 without 40: the acme ones
    expect(got.flatMap((d) => d.events.map((e) => (e.payload as { i: number }).i))).toEqual([31, 32, 33, 34, 35, 36, 37, 38, 39, 41, 42, 43, 44, 45, 46, 47, 48, 49])
    await opened.right.return(undefined)

    expect(E.isRight(await subs.reset('acme', 'big-i', 'start'))).toBe(true)
    const again = await subs.open('acme', 'big-i')
    if (E.isLeft(again)) throw new Error('reopen failed')
    expect((await take(again.right, 1, true))[0]?.events.map((e) => (e.payload as { i: number }).i)).toEqual([31])
    await again.right.return(undefined)

    // The last matching event: everything before it is skipped (and acknowledged) by the subscription.
    expect(E.isRight(await subs.create('last', { tenant: 'acme', from: 'start', where: { eq: ['payload.i', 59] } }))).toBe(true)
    const last = await subs.open('acme', 'last')
    if (E.isLeft(last)) throw new Error('open failed')
    expect((await take(last.right, 1, true)).map((d) => d.offset)).toEqual([offsets.at(-1)])
    await last.right.return(undefined)
    expect(await subs.position('acme', 'last')).toMatchObject({ _tag: 'Right', right: { acknowledged: offsets.at(-1), lag: 0 } })

    expect(await subs.create('bad', { tenant: 'acme', from: 'start', where: { or: [{ gt: ['payload.i'] }] } as unknown as Filter })).toMatchObject({
      _tag: 'Left',
      left: { _tag: 'BadRequest', details: { path: 'or[0].gt' } },
    })
    expect(await subs.create('bad', { tenant: 'acme', from: 'start', where: 'payload.i >' })).toMatchObject({ _tag: 'Left', left: { _tag: 'BadRequest', details: { offset: 11 } } })
    const huge = { in: ['payload.s', Array.from({ length: 10_000 }, (_, i) => `value-${i}`)] } as const
    expect(await subs.create('bad', { tenant: 'acme', from: 'start', where: huge })).toMatchObject({ _tag: 'Left', left: { _tag: 'BadRequest' } })
    expect(await subs.position('acme', 'bad')).toMatchObject({ _tag: 'Left', left: { _tag: 'NotFound' } })
  })

  it('resumes after a reader dies exactly after what it acknowledged: no gap, nothing acknowledged twice', async () => {
    const first = await connect({ servers: fixture().server.url })
    const subs = createSubscriptions(first)
    expect(E.isRight(await subs.create('audit', { tenant: 'acme', from: 'start' }))).toBe(true)
    const opened = await subs.open('acme', 'audit')
    if (E.isLeft(opened)) throw new Error('open failed')
    const acked: Delivery[] = []
    const held: Delivery[] = []
    for await (const d of opened.right) {
      // The first 20 are acknowledged; the next 5 are received and never acknowledged: the reader dies holding them.
      if (acked.length < 20) {
        await d.ack()
        acked.push(d)
      } else held.push(d)
      if (held.length === 5) break
    }
    expect(held.map((d) => d.offset)).toEqual(offsets.slice(20, 25))
    await first.close()

    const second = await connect({ servers: fixture().server.url })
    const again = createSubscriptions(second)
    expect(await again.position('acme', 'audit')).toMatchObject({ _tag: 'Right', right: { acknowledged: acked.at(-1)?.offset } })
    const reopened = await again.open('acme', 'audit')
    if (E.isLeft(reopened)) throw new Error('reopen failed')
    const rest = await take(reopened.right, offsets.length - 20, true)
    expect([...acked, ...rest].map((d) => d.offset)).toEqual(offsets)
    expect(rest.every((d) => d.events.every((e) => e.tenant === 'acme'))).toBe(true)
    expect(await again.position('acme', 'audit')).toMatchObject({ _tag: 'Right', right: { acknowledged: offsets.at(-1), lag: 0 } })
    await second.close()
  })

  it('reads position and lag, and resets to an offset or a time', async () => {
    const subs = createSubscriptions(fixture().nc)
    await subs.create('lagging', { tenant: 'acme', stream: 'sub-1', from: { offset: 1 } })
    const pos = await subs.position('acme', 'lagging')
    expect(pos).toMatchObject({ _tag: 'Right', right: { acknowledged: 0, stream: 'sub-1' } })
    const page = await fixture().app.read('acme', 'sub-1')
    expect(E.isRight(pos) && pos.right.lag).toBe(E.isRight(page) ? page.right.events.length : -1)

    const mid = offsets[30] as number
    expect(await subs.reset('acme', 'lagging', { offset: mid })).toMatchObject({ _tag: 'Right' })
    const opened = await subs.open('acme', 'lagging')
    if (E.isLeft(opened)) throw new Error('open failed')
    const [firstAfterReset] = await take(opened.right, 1, true)
    expect(firstAfterReset?.offset).toBeGreaterThanOrEqual(mid)
    expect(firstAfterReset?.events[0]?.stream).toBe('sub-1')

    expect(await subs.reset('acme', 'lagging', { time: new Date(Date.now() + 60_000) })).toMatchObject({ _tag: 'Right', right: { lag: 0 } })
  })

  it('refuses bad input with typed errors and changes nothing', async () => {
    const subs = createSubscriptions(fixture().nc)
    await subs.create('taken', { tenant: 'acme', from: 'end' })
    expect(await subs.create('taken', { tenant: 'acme', from: 'start' })).toMatchObject({ _tag: 'Left', left: { _tag: 'BadRequest' } })
    expect(await subs.create('bad.name', { tenant: 'acme', from: 'start' })).toMatchObject({ _tag: 'Left', left: { _tag: 'InvalidId', field: 'name' } })
    expect(await subs.create('x', { tenant: 'acme', stream: '>', from: 'start' })).toMatchObject({ _tag: 'Left', left: { _tag: 'InvalidId', field: 'stream' } })
    const before = await subs.position('acme', 'taken')
    expect(await subs.reset('acme', 'taken', { offset: 1_000_000 })).toMatchObject({ _tag: 'Left', left: { _tag: 'BadRequest' } })
    expect(await subs.position('acme', 'taken')).toEqual(before)
    expect(await subs.position('acme', 'nobody')).toMatchObject({ _tag: 'Left', left: { _tag: 'NotFound' } })
    expect(await subs.open('acme', 'nobody')).toMatchObject({ _tag: 'Left', left: { _tag: 'NotFound' } })
  })
})
