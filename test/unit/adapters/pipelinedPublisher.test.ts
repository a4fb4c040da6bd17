import type { NatsConnection } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { PipelinedPublisher } from '../../../src/adapters/nats/log/pipelinedPublisher.js'

/** A connection that takes publishes and never acks them. */
const silentConnection = () => {
  let published = 0
  const nc = {
    subscribe: () => ({ unsubscribe: () => undefined }),
    publish: () => void published++,
  } as unknown as NatsConnection
  return { nc, published: () => published }
}

describe('PipelinedPublisher.close()', () => {
  it('settles what is pending as TimedOut and refuses later publishes at once, sending nothing', async () => {
    const { nc, published } = silentConnection()
    const publisher = new PipelinedPublisher(nc, 60_000)
    const pending = publisher.publish('allsource.events.a.b', new Uint8Array([1]))
    publisher.close()
    expect(await pending).toEqual({ _tag: 'TimedOut' })
    const late = await publisher.publish('allsource.events.a.b', new Uint8Array([2]))
    expect(late).toMatchObject({ _tag: 'Rejected', errCode: 0 })
    expect(published()).toBe(1)
    expect(publisher.inFlight).toBe(0)
    publisher.close() // idempotent
  })
})
