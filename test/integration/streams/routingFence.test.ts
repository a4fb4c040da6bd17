import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LEASE_BUCKET } from '../../../src/adapters/nats/ingest/leasedIngest.js'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { MEMBER_KEY_PREFIX } from '../../../src/adapters/nats/service/partitionRouting.js'
import type { StreamService } from '../../../src/adapters/nats/service/streamService.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { freePort } from '../../../src/main/natsServer/launchNatsServer.js'
import { appendMappingConfig } from '../../../src/main/natsServer/natsServerConfig.js'
import { cleanUp } from '../../support/cleanUp.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'
import { type ProcessorProcess, spawnProcessor } from '../../support/processor.js'
import { waitFor } from '../../support/projections.js'
import { sampleValue } from '../../support/promText.js'

const PARTITIONS = 8
// Generous for a loaded 2-core machine: the child runs through tsx beside the test.
const TTL_MS = 1_500

/**
 * A processor whose event loop cannot run past its membership TTL (SIGSTOP of a processor process)
 * must not serve its partitions beside the instance that took them over once it runs again: it
 * fences itself (answers what it finds buffered UNAVAILABLE, drains its subscriptions), and takes
 * its partitions back only once the other instance has let them go.
 */
describe('a processor stopped past its membership TTL fences itself (partition routing)', () => {
  let server: TestNatsServer | undefined
  let nc: NatsConnection | undefined
  let ncB: NatsConnection | undefined
  let b: { app: AllSource; service: StreamService } | undefined
  let a: ProcessorProcess | undefined
  beforeAll(async () => {
    server = await startNatsServer({ config: appendMappingConfig('allsource', PARTITIONS) })
    nc = await connect({ servers: server.url })
  })
  afterAll(() =>
    cleanUp(
      () => {
        if (a !== undefined && a.proc.exitCode === null && a.proc.signalCode === null) {
          a.proc.kill('SIGCONT')
          a.proc.kill('SIGKILL')
        }
      },
      () => b?.app.close(),
      () => ncB?.close(),
      () => nc?.close(),
      () => server?.stop(),
    ),
  )

  it('SIGSTOP past the TTL: the other takes over, the stopped one fences on resume, rejoins after the handback; no append met another instance, nothing lost', async () => {
    const url = server?.url as string
    const c = nc as NatsConnection
    ncB = await connect({ servers: url })
    const appB = await createAllSource({ nc: ncB, snapshotEvery: 0, routing: { partitions: PARTITIONS, member: 'b', ttlMs: TTL_MS } })
    b = { app: appB, service: await appB.serve() }
    const routingB = b.service.routing
    if (routingB === undefined) throw new Error('routing expected')
    const port = await freePort()
    a = spawnProcessor({
      NATS_URL: url,
      ALLSOURCE_EMBEDDED: 'never',
      ALLSOURCE_AUTH: 'off',
      ALLSOURCE_INSTANCE: 'a',
      ALLSOURCE_PARTITIONS: String(PARTITIONS),
      ALLSOURCE_MEMBER_TTL_MS: String(TTL_MS),
      ALLSOURCE_HTTP_PORT: String(port),
      ALLSOURCE_INGEST: '0',
      ALLSOURCE_ID_INDEX: '0',
      ALLSOURCE_PROJECTIONS: '0',
      ALLSOURCE_EXAMPLE_MODULES: '0',
    })
    const procA = a
    await procA.ready(120_000)
    const metricsA = async (name: string): Promise<number> => sampleValue(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), name) ?? 0

    // What A says it serves: the `serving` of its heartbeat in KV (its member id is `a-<random>`).
    const kv = await new Kvm(c).open(LEASE_BUCKET)
    await waitFor(() => routingB.members().some((m) => m.startsWith('a-')), 60_000, 'b seeing a')
    const memberA = routingB.members().find((m) => m.startsWith('a-')) as string
    const servedByA = async (): Promise<number[]> => {
      const e = await kv.get(`${MEMBER_KEY_PREFIX}${memberA}`)
      return e === null || e.operation !== 'PUT' ? [] : (e.json<{ serving?: number[] }>().serving ?? [])
    }
    const splitExactly = async (): Promise<boolean> => {
      const both = [...(await servedByA()), ...routingB.served()]
      return both.length === PARTITIONS && new Set(both).size === PARTITIONS && routingB.served().size < PARTITIONS
    }
    await waitFor(splitExactly, 60_000, 'the partitions split between a and b')

    // Load on 24 streams, two writers each, retrying UNAVAILABLE (no responders, a fenced instance) with the same commitId.
    const client = createAllSourceClient(c)
    const streams = Array.from({ length: 24 }, (_, i) => `fenced-${i}`)
    let running = true
    const failures: string[] = []
    const acked = new Map<string, number>(streams.map((s) => [s, 0]))
    const load = Promise.all(
      streams.flatMap((stream) =>
        [0, 1].map(async (w) => {
          for (let i = 0; running; i++) {
            const r = await client.tryAppend('acme', stream, [{ type: 'thing.happened', payload: { w, i } }], { commitId: `${stream}-w${w}-${i}`, retry: { deadlineMs: 60_000, initialDelayMs: 20 } })
            if (E.isLeft(r)) failures.push(`${stream} w${w} ${i}: ${r.left.code} ${r.left.message}`)
            else acked.set(stream, (acked.get(stream) ?? 0) + 1)
          }
        }),
      ),
    )
    await waitFor(() => [...acked.values()].every((n) => n >= 2), 60_000, 'every stream written')
    const conflictsBefore = appB.conflicts() + (await metricsA('allsource_append_conflicts_total'))

    // A stops (as a starved event loop or a paused VM would) for well past its TTL; B takes its partitions.
    procA.proc.kill('SIGSTOP')
    await waitFor(() => routingB.served().size === PARTITIONS, 60_000, 'b serving every partition')
    await new Promise((r) => setTimeout(r, TTL_MS))
    procA.proc.kill('SIGCONT')

    // On resume A finds its lease lapsed: it steps back, then rejoins once B has handed the partitions back.
    await waitFor(() => /stepping back from \d+ partitions/.test(procA.output()), 60_000, 'a fencing itself')
    await waitFor(() => /routing: rejoined/.test(procA.output()), 60_000, 'a rejoining')
    await waitFor(splitExactly, 60_000, 'the partitions split again')
    const settled = [...acked.values()].reduce((x, y) => x + y, 0)
    await waitFor(() => [...acked.values()].reduce((x, y) => x + y, 0) >= settled + 48, 60_000, 'more appends after the rejoin')
    running = false
    await load

    expect(failures).toEqual([])
    for (const stream of streams) {
      const page = await client.read('acme', stream, { limit: 10_000 })
      expect(page.events.map((e) => e.version)).toEqual(Array.from({ length: page.events.length }, (_, i) => i + 1))
      expect(page.events).toHaveLength(acked.get(stream) ?? -1)
    }
    expect(await metricsA('allsource_routing_fences_total')).toBeGreaterThanOrEqual(1)
    // No stream was served by both at once: no append met the other instance's write.
    expect(appB.conflicts() + (await metricsA('allsource_append_conflicts_total')) - conflictsBefore).toBe(0)
    expect(b.service.routing?.fencing().fences).toBe(0)
  })
})
