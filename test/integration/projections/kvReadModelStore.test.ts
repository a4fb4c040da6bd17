import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe } from 'vitest'
import { PipelinedPublisher } from '../../../src/adapters/nats/log/pipelinedPublisher.js'
import { kvReadModelStore } from '../../../src/adapters/nats/projections/kvReadModelStore.js'
import { withNatsServer } from '../../support/natsServer.js'
import { readModelStoreContract } from '../../support/readModelStoreContract.js'

describe('JetStream KV read-model store', () => {
  const server = withNatsServer()
  let nc: NatsConnection
  let publisher: PipelinedPublisher
  let n = 0

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
    publisher = new PipelinedPublisher(nc)
  })
  afterAll(async () => {
    publisher?.close()
    await nc?.close()
  })

  readModelStoreContract('JetStream KV', async () => {
    const bucket = `ALLSOURCE_PROJ_contract_${++n}`
    const kv = await new Kvm(nc).create(bucket, { history: 1 })
    return kvReadModelStore(kv, bucket, publisher)
  })
})
