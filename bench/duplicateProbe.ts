/**
 * How long a commitId lookup (`findDuplicate`) takes with 1, 1,000 and 10,000 commits of the
 * stream inside the duplicate window, on a fresh nats-server of its own (R1, or a 3-node cluster
 * with `R3=1`). Not part of the test suite; run with:
 *
 *   node --import tsx bench/duplicateProbe.ts          # R1 on the project-local nats-server
 *   R3=1 node --import tsx bench/duplicateProbe.ts     # 3-node cluster, stream with 3 replicas
 */
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { defaultEventStreamOptions, ensureEventStream } from '../src/adapters/nats/log/eventStream.js'
import { createJetStreamEventLog } from '../src/adapters/nats/log/jetStreamEventLog.js'
import { localNatsServerPath } from '../src/main/natsServer/findNatsServer.js'
import type { Commit } from '../src/domain/streams/event.js'
import { commitOf } from '../test/support/eventLogContract.js'
import { startCluster, startSingle } from '../test/support/natsTopologies.js'

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

const main = async (): Promise<void> => {
  const r3 = process.env.R3 === '1'
  const topo = r3 ? await startCluster('R3', localNatsServerPath()) : await startSingle('R1', localNatsServerPath())
  const nc = await connect({ servers: [...topo.urls] })
  try {
    await ensureEventStream(nc, await jetstreamManager(nc), { ...defaultEventStreamOptions, replicas: topo.replicas }, () => undefined)
    const log = createJetStreamEventLog(nc, { probeTimeoutMs: 30_000 })
    const time = async (c: Commit, runs = 7): Promise<number> => {
      const ms: number[] = []
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now()
        await log.findDuplicate(c)
        ms.push(performance.now() - t0)
      }
      return median(ms)
    }
    const fill = async (stream: string, count: number): Promise<Commit[]> => {
      const commits: Commit[] = []
      let last = 0
      for (let v = 0; v < count; v++) {
        const c = commitOf('bench', stream, v)
        const r = await log.append(c, last)
        if (r._tag !== 'Appended') throw new Error(`append: ${r._tag}`)
        last = r.offset
        commits.push(c)
      }
      return commits
    }
    console.log(`${topo.name}: median of 7 lookups, ms`)
    console.log('commits in window | last commit (direct get) | first commit | absent (whole window read)')
    for (const count of [1, 1_000, 10_000]) {
      const commits = await fill(`probe-${count}`, count)
      const last = await time(commits[commits.length - 1] as Commit)
      const first = count > 1 ? await time(commits[0] as Commit) : NaN
      const absent = await time(commitOf('bench', `probe-${count}`, 0))
      console.log(`${count} | ${last.toFixed(2)} | ${first.toFixed(2)} | ${absent.toFixed(2)}`)
    }
    // Other streams' commits in the window do not count: the read is filtered to one stream.
    const others = await Promise.all(Array.from({ length: 100 }, (_, i) => fill(`noise-${i}`, 100)))
    await fill('quiet', 2)
    console.log(`absent on a 2-commit stream among ${others.length * 100} other commits: ${(await time(commitOf('bench', 'quiet', 0))).toFixed(2)}`)
    log.close()
  } finally {
    await nc.close()
    await topo.stop()
  }
}

main().catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
