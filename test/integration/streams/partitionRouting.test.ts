import { spawn } from 'node:child_process'
import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AllSourceClient, createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import type { StreamService } from '../../../src/adapters/nats/service/streamService.js'
import { decodeMsgpack, encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { LEASE_BUCKET } from '../../../src/adapters/nats/ingest/leasedIngest.js'
import { MEMBER_KEY_PREFIX } from '../../../src/adapters/nats/service/partitionRouting.js'
import { thisProcess } from '../../../src/adapters/system/processIdentity.js'
import { partitionOf } from '../../../src/domain/routing/partitions.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { appendMappingConfig } from '../../../src/main/natsServer/natsServerConfig.js'
import { cleanUp } from '../../support/cleanUp.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'
import { waitFor } from '../../support/projections.js'

const PARTITIONS = 8
const TTL_MS = 600

/** One in-process processor on its own connection, routing by partition as member `member`. */
interface Instance {
  readonly nc: NatsConnection
  readonly app: AllSource
  readonly service: StreamService
}

const startInstance = async (url: string, member: string | undefined): Promise<Instance> => {
  const nc = await connect({ servers: url })
  const app = await createAllSource({ nc, snapshotEvery: 0, ...(member !== undefined ? { routing: { partitions: PARTITIONS, member, ttlMs: TTL_MS } } : {}) })
  const service = await app.serve()
  return { nc, app, service }
}

/** Stops an instance; one whose connection was closed under it (a crash) is stopped too, so its timers end. */
const stopInstance = async (i: Instance | undefined): Promise<void> => {
  if (i === undefined) return
  await i.app.close().catch(() => undefined)
  if (!i.nc.isClosed()) await i.nc.close()
}

const servedBy = (...xs: Instance[]) => xs.map((x) => [...(x.service.routing?.served() ?? [])])

/** Every partition served by exactly one of `xs`. */
const splitExactly = (...xs: Instance[]): boolean => {
  const all = servedBy(...xs).flat()
  return all.length === PARTITIONS && new Set(all).size === PARTITIONS
}

/**
 * Appends `perStream` single-event commits to each of `streams`, `writers` writers per stream at
 * once, each append retried through UNAVAILABLE (no responders while a partition changes hands)
 * with its commitId, then re-sent once more with the same commitId as a client whose reply was
 * lost would. Returns the commitIds acknowledged per stream, and the failures (none expected).
 */
const writeRacing = async (client: AllSourceClient, streams: readonly string[], writers: number, perWriter: number) => {
  const acked = new Map<string, { commitId: string; toVersion: number }[]>(streams.map((s) => [s, []]))
  const failures: string[] = []
  await Promise.all(
    streams.flatMap((stream) =>
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) {
          const commitId = `${stream}-w${w}-${i}`
          const first = await client.tryAppend('acme', stream, [{ type: 'thing.happened', payload: { w, i } }], { commitId, retry: { deadlineMs: 20_000, initialDelayMs: 20 } })
          if (E.isLeft(first)) {
            failures.push(`${commitId}: ${first.left.code} ${first.left.message}`)
            continue
          }
          acked.get(stream)?.push({ commitId, toVersion: first.right.toVersion })
          // The retry after a lost reply: the first result again, never a 409.
          const again = await client.tryAppend('acme', stream, [{ type: 'thing.happened', payload: { w, i } }], { commitId, expectedVersion: first.right.toVersion - 1, retry: { deadlineMs: 20_000 } })
          if (E.isLeft(again)) failures.push(`retry of ${commitId}: ${again.left.code} ${again.left.message}`)
          else if (again.right.duplicate !== true || again.right.toVersion !== first.right.toVersion) failures.push(`retry of ${commitId}: ${JSON.stringify(again.right)}`)
        }
      }),
    ),
  )
  return { acked, failures }
}

/** Each stream's versions are 1..n without a gap, and hold every acknowledged commit exactly once. */
const expectSerialized = async (client: AllSourceClient, acked: Map<string, { commitId: string; toVersion: number }[]>): Promise<void> => {
  for (const [stream, commits] of acked) {
    const page = await client.read('acme', stream, { limit: 10_000 })
    expect(page.events.map((e) => e.version)).toEqual(Array.from({ length: page.events.length }, (_, i) => i + 1))
    expect(page.events).toHaveLength(commits.length)
    expect(new Set(commits.map((c) => c.toVersion)).size).toBe(commits.length)
  }
}

describe('several processors, appends routed by partition (the server maps allsource.append.<t>.<s>)', () => {
  let server: TestNatsServer | undefined
  let nc: NatsConnection | undefined
  const instances: Instance[] = []
  beforeAll(async () => {
    server = await startNatsServer({ config: appendMappingConfig('allsource', PARTITIONS) })
    nc = await connect({ servers: server.url })
  })
  afterAll(() => cleanUp(...instances.map((i) => () => stopInstance(i)), () => nc?.close(), () => server?.stop()))
  const url = () => server?.url as string

  it("the server's mapping puts each stream on the partition partitionOf computes", async () => {
    const c = nc as NatsConnection
    const got = new Map<string, number>()
    const sub = c.subscribe('allsource.routed.*.*.*', { callback: (_e, m) => void got.set(m.subject.split('.').slice(2, 4).join('.'), Number(m.subject.split('.')[4])) })
    for (let i = 0; i < 200; i++) c.publish(`allsource.append.probe.s-${i}`)
    await c.flush()
    await waitFor(() => got.size === 200, 10_000, 'the routed probes')
    sub.unsubscribe()
    for (let i = 0; i < 200; i++) expect(got.get(`probe.s-${i}`)).toBe(partitionOf('probe', `s-${i}`, PARTITIONS))
  })

  it('two instances split the partitions; every stream is served by one of them, with no conflict; a tenant id cannot be widened', async () => {
    const a = await startInstance(url(), 'a')
    const b = await startInstance(url(), 'b')
    instances.push(a, b)
    await waitFor(() => splitExactly(a, b), 10_000, 'the partitions split between a and b')
    const client = createAllSourceClient(nc as NatsConnection)
    const streams = Array.from({ length: 64 }, (_, i) => `one-${i}`)
    const { acked, failures } = await writeRacing(client, streams, 2, 2)
    expect(failures).toEqual([])
    await expectSerialized(client, acked)
    // One stream, one instance: no append met another instance's write, and each stream's actor lives on one side only.
    expect(a.app.conflicts() + b.app.conflicts()).toBe(0)
    expect(a.app.supervisor.resident + b.app.supervisor.resident).toBe(streams.length)
    expect(a.service.stats.num_requests).toBeGreaterThan(0)
    expect(b.service.stats.num_requests).toBeGreaterThan(0)
    // A dotted id still reaches the contract endpoint (the mapping takes two tokens only) and is refused.
    const dotted = await (nc as NatsConnection).request('allsource.append.acme.a.b', encodeMsgpack({ events: [] }), { timeout: 5_000 })
    expect(decodeMsgpack(dotted.data)).toMatchObject({ error: { code: 'INVALID_ID' } })
  })

  it('membership changes under load: a joins, c joins then leaves cleanly, b dies silently; nothing lost, versions gapless, retries answered duplicate', async () => {
    const [a, b] = instances as [Instance, Instance]
    const client = createAllSourceClient(nc as NatsConnection)
    const streams = Array.from({ length: 30 }, (_, i) => `moving-${i}`)
    const load = writeRacing(client, streams, 2, 8)
    const c = await startInstance(url(), 'c')
    instances.push(c)
    await waitFor(() => splitExactly(a, b, c), 10_000, 'the partitions split three ways')
    await stopInstance(c)
    await waitFor(() => splitExactly(a, b), 10_000, 'the partitions back on a and b')
    // A crash: b's connection goes without leaving; a takes b's partitions once b's heartbeat is TTL_MS old.
    await b.nc.close()
    await waitFor(() => servedBy(a)[0]?.length === PARTITIONS, 10_000, 'a serving every partition')
    const { acked, failures } = await load
    expect(failures).toEqual([])
    await expectSerialized(client, acked)
  })

  it('a member on this host whose process is gone counts as dead at once (a SIGKILLed processor restarted); one whose process lives counts until its heartbeat ages out', async () => {
    const [a] = instances as [Instance]
    const self = thisProcess()
    expect(self).toBeDefined() // Linux: /proc names the boot and the pid namespace
    const host = self?.host as string
    const dead = spawn(process.execPath, ['-e', ''])
    const deadPid = dead.pid as number
    await new Promise((r) => dead.once('exit', r))
    const living = spawn('sleep', ['30'])
    const kv = await new Kvm(nc as NatsConnection).open(LEASE_BUCKET)
    const seenMembers = new Set<string>()
    try {
      // Both keys are fresh and keep changing, as a live member's heartbeat does: only the process tells them apart.
      for (let i = 0; i < 15; i++) {
        for (const [member, pid] of [['ghost', deadPid], ['living', living.pid as number]] as const)
          await kv.put(`${MEMBER_KEY_PREFIX}${member}`, JSON.stringify({ at: Date.now(), partitions: PARTITIONS, serving: [], process: { host, pid } }))
        for (const m of a.service.routing?.members() ?? []) seenMembers.add(m)
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(seenMembers.has('living')).toBe(true)
      expect(seenMembers.has('ghost')).toBe(false)
    } finally {
      living.kill('SIGKILL')
      await kv.delete(`${MEMBER_KEY_PREFIX}ghost`)
      await kv.delete(`${MEMBER_KEY_PREFIX}living`)
    }
    await waitFor(() => servedBy(a)[0]?.length === PARTITIONS, 10_000, 'a serving every partition again')
  })
})

describe('several processors without the mapping (every instance serves every stream)', () => {
  let server: TestNatsServer | undefined
  const parts: Instance[] = []
  beforeAll(async () => {
    server = await startNatsServer()
  })
  afterAll(() => cleanUp(...parts.map((i) => () => stopInstance(i)), () => server?.stop()))

  it('two instances race on the same streams: appends stay serializable, retries answer duplicate', async () => {
    const url = server?.url as string
    parts.push(await startInstance(url, 'a'), await startInstance(url, 'b'))
    const nc = await connect({ servers: url })
    try {
      const client = createAllSourceClient(nc)
      const streams = Array.from({ length: 10 }, (_, i) => `hot-${i}`)
      const { acked, failures } = await writeRacing(client, streams, 6, 8)
      expect(failures).toEqual([])
      await expectSerialized(client, acked)
      // Both served appends (the shared queue group).
      for (const p of parts) expect(p.service.stats.num_requests).toBeGreaterThan(0)
    } finally {
      await nc.close()
    }
  })
})
