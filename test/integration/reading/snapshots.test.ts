import { Kvm } from '@nats-io/kv'
import { connect } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { decodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { createJetStreamEventLog } from '../../../src/adapters/nats/log/jetStreamEventLog.js'
import { createKvSnapshotStore } from '../../../src/adapters/nats/log/kvSnapshotStore.js'
import { loadStream } from '../../../src/application/streams/loadStream.js'
import { bankAccountModule } from '../../../src/domain/examples/bankAccount.js'
import type { StreamId, TenantId } from '../../../src/domain/streams/ids.js'
import { withProcessor } from '../../support/processorFixture.js'

describe('snapshots in JetStream KV', () => {
  const fixture = withProcessor({ modules: [bankAccountModule], snapshotEvery: 50 })

  const deposit = async (stream: string, from: number, count: number) => {
    for (let k = 0; k < count; k += 10) {
      const events = Array.from({ length: Math.min(10, count - k) }, (_, j) => ({ type: 'MoneyDeposited', payload: { amount: from + k + j } }))
      const r = await fixture().app.append('acme', stream, events)
      expect(E.isRight(r)).toBe(true)
    }
  }

  it('stores a snapshot every 50 events, keyed by stream and state version, and hydration from it equals a full fold', async () => {
    const { app, nc } = fixture()
    await app.execute('acme', 'account-kv', { type: 'Open', owner: 'ann' })
    await deposit('account-kv', 1, 130)
    const kv = await new Kvm(nc).open('ALLSOURCE_SNAPSHOTS')
    await expect.poll(async () => (await kv.get('acme.account-kv.v1'))?.value.length ?? 0).toBeGreaterThan(0)
    const snap = decodeMsgpack((await kv.get('acme.account-kv.v1'))!.value) as { version: number; stateVersion: number }
    expect(snap.stateVersion).toBe(1)
    expect(snap.version % 50).toBeLessThan(10)

    const log = createJetStreamEventLog(nc)
    const store = await createKvSnapshotStore(nc)
    const fast = await loadStream(log, bankAccountModule, 'acme' as TenantId, 'account-kv' as StreamId, store)
    const full = await loadStream(log, bankAccountModule, 'acme' as TenantId, 'account-kv' as StreamId)
    expect(fast).toEqual(full)
    expect((full.state as { balance: number }).balance).toBe((130 * 131) / 2)
    log.close()
  })

  it('a fresh processor hydrates a stream from its snapshot and keeps enforcing invariants', async () => {
    const other = await connect({ servers: fixture().server.url })
    const { createAllSource } = await import('../../../src/main/allSource.js')
    const fresh = await createAllSource({ nc: other, modules: [bankAccountModule] })
    const tooMuch = await fresh.append('acme', 'account-kv', [{ type: 'MoneyWithdrawn', payload: { amount: (130 * 131) / 2 + 1 } }])
    expect(E.isLeft(tooMuch) && tooMuch.left._tag).toBe('ValidationFailed')
    const exact = await fresh.append('acme', 'account-kv', [{ type: 'MoneyWithdrawn', payload: { amount: (130 * 131) / 2 } }])
    expect(E.isRight(exact)).toBe(true)
    await fresh.close()
    await other.close()
  })

  it('takes a snapshot on demand and answers state as of a version or a time', async () => {
    const { app } = fixture()
    await app.execute('acme', 'account-od', { type: 'Open', owner: 'bob' })
    await deposit('account-od', 1, 5)
    const snap = await app.snapshot('acme', 'account-od')
    expect(snap).toMatchObject({ _tag: 'Right', right: { version: 6, stateVersion: 1, state: { balance: 15 } } })
    expect(await app.stateAt('acme', 'account-od', { version: 3 })).toMatchObject({ _tag: 'Right', right: { version: 3, state: { balance: 3 } } })
    expect(await app.stateAt('acme', 'account-od', { time: new Date() })).toMatchObject({ _tag: 'Right', right: { version: 6 } })
    expect(await app.snapshot('acme', 'account-none')).toEqual({ _tag: 'Right', right: undefined })
  })

  it('refuses snapshots and state-as-of for streams without a module, and bad ids', async () => {
    const { app } = fixture()
    expect(await app.snapshot('acme', 'plain-1')).toMatchObject({ _tag: 'Left', left: { _tag: 'BadRequest' } })
    expect(await app.stateAt('acme', 'plain-1', { version: 1 })).toMatchObject({ _tag: 'Left', left: { _tag: 'BadRequest' } })
    expect(await app.snapshot('acme', 'account.1')).toMatchObject({ _tag: 'Left', left: { _tag: 'InvalidId' } })
  })
})
