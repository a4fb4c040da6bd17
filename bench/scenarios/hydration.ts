import * as E from 'fp-ts/lib/Either.js'
import { createJetStreamEventLog } from '../../src/adapters/nats/log/jetStreamEventLog.js'
import { loadStream } from '../../src/application/streams/loadStream.js'
import { takeSnapshot } from '../../src/application/snapshots/snapshots.js'
import { createKvSnapshotStore } from '../../src/adapters/nats/log/kvSnapshotStore.js'
import { bankAccountModule } from '../../src/domain/examples/bankAccount.js'
import type { StreamId, TenantId } from '../../src/domain/streams/ids.js'
import { createAllSource } from '../../src/main/allSource.js'
import { median } from '../report.js'
import type { BenchServer } from './common.js'

/**
 * Cold load of a 1,000-event `account-*` stream, median ms over `loads`: folded from the log, and
 * from a snapshot taken at its head (the KV get plus an empty tail).
 */
export const hydration = async (b: BenchServer, loads: number): Promise<{ full: number; snapshot: number }> => {
  const app = await createAllSource({ nc: b.nc, modules: [bankAccountModule], snapshotEvery: 0 })
  const stream = 'account-hydrate'
  const opened = await app.append('bench', stream, [{ type: 'AccountOpened', payload: { owner: 'ann' } }])
  if (E.isLeft(opened)) throw new Error('open failed')
  // 1 + 111 × 9 = 1,000 events.
  for (let c = 0; c < 111; c++) {
    const batch = Array.from({ length: 9 }, () => ({ type: 'MoneyDeposited', payload: { amount: 1 } }))
    const r = await app.append('bench', stream, batch)
    if (E.isLeft(r)) throw new Error(`deposit failed: ${JSON.stringify(r.left)}`)
  }
  await app.close()
  const log = createJetStreamEventLog(b.nc)
  const times: number[] = []
  for (let i = 0; i < loads; i++) {
    const t0 = performance.now()
    const loaded = await loadStream(log, bankAccountModule, 'bench' as TenantId, stream as StreamId)
    times.push(performance.now() - t0)
    if (loaded.head.version !== 1000) throw new Error(`expected 1000 events, loaded ${loaded.head.version}`)
  }
  const store = await createKvSnapshotStore(b.nc)
  await takeSnapshot(log, store, bankAccountModule, 'bench' as TenantId, stream as StreamId, new Date())
  const fast: number[] = []
  for (let i = 0; i < loads; i++) {
    const t0 = performance.now()
    const loaded = await loadStream(log, bankAccountModule, 'bench' as TenantId, stream as StreamId, store)
    fast.push(performance.now() - t0)
    if (loaded.head.version !== 1000) throw new Error('snapshot load lost events')
  }
  log.close()
  return { full: median(times), snapshot: median(fast) }
}
