import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { unpack } from 'msgpackr'
import { openProjectionCatalog } from '../../src/adapters/nats/projections/projectionControl.js'
import { bucketName } from '../../src/domain/projections/operations.js'

/** Everything in a projection's active read model, as `<tenant>.<key>` → state (read straight from KV). */
export const readModel = async (nc: NatsConnection, name: string): Promise<Map<string, unknown>> => {
  const pointer = await (await openProjectionCatalog(nc)).pointer(name)
  if (pointer === undefined) throw new Error(`projection "${name}" has no read model`)
  const kv = await new Kvm(nc).open(bucketName(name, pointer.generation))
  const out = new Map<string, unknown>()
  for await (const k of await kv.keys()) {
    const e = await kv.get(k)
    if (e !== null && e.operation === 'PUT') out.set(k, (unpack(e.value) as { state: unknown }).state)
  }
  return out
}

export const waitFor = async (cond: () => boolean | Promise<boolean>, timeoutMs = 60_000, what = 'condition'): Promise<void> => {
  const t0 = Date.now()
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
