import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'
import { readWholeLog } from '../../support/eventLogReader.js'
import { spawnProcessor } from '../../support/processor.js'

describe('a processor killed with SIGKILL mid-load', () => {
  let server: TestNatsServer

  beforeAll(async () => {
    server = await startNatsServer()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('loses no acknowledged append, stores none twice, and leaves no half commit', async () => {
    const env = { NATS_URL: server.url, ALLSOURCE_EXAMPLE_MODULES: '0' }
    const first = spawnProcessor(env)
    await first.ready()

    const nc = await connect({ servers: server.url })
    const client = createAllSourceClient(nc, { timeoutMs: 2_000 })
    const acked = new Set<string>()
    const unacked = new Map<string, { stream: string; n: number }>()
    let stop = false
    const streams = 50

    const writer = async (s: number) => {
      const stream = `crash-${s}`
      for (let n = 0; !stop; n++) {
        const commitId = `c-${s}-${n}`
        // Two events per commit: a half-written commit would show as a lone event.
        const events = [
          { type: 'first', payload: { s, n } },
          { type: 'second', payload: { s, n } },
        ]
        const r = await client.tryAppend('acme', stream, events, { commitId })
        if (r._tag === 'Right') acked.add(commitId)
        else {
          unacked.set(commitId, { stream, n })
          await new Promise((res) => setTimeout(res, 20))
        }
      }
    }
    const writers = Array.from({ length: streams }, (_, s) => writer(s))
    await vi_waitFor(() => acked.size >= 2_000)
    first.proc.kill('SIGKILL')
    expect(await first.exited()).toBe('SIGKILL')
    await vi_waitFor(() => unacked.size >= streams)

    const second = spawnProcessor(env)
    await second.ready()
    await new Promise((res) => setTimeout(res, 500))
    stop = true
    await Promise.all(writers)

    // A client retries what it did not see acknowledged, with the same commitId: each stream's in
    // order, the streams side by side (thousands of retries one by one outlast the test on a busy box).
    const retries = new Map<string, { commitId: string; n: number }[]>()
    for (const [commitId, { stream, n }] of unacked) {
      if (acked.has(commitId)) continue
      const list = retries.get(stream) ?? []
      list.push({ commitId, n })
      retries.set(stream, list)
    }
    await Promise.all(
      [...retries].map(async ([stream, list]) => {
        for (const { commitId, n } of list) {
          const r = await client.tryAppend('acme', stream, [
            { type: 'first', payload: { s: Number(stream.slice(6)), n } },
            { type: 'second', payload: { s: Number(stream.slice(6)), n } },
          ], { commitId })
          expect(r._tag).toBe('Right')
          acked.add(commitId)
        }
      }),
    )

    const log = await readWholeLog(nc)
    const ids = log.map((c) => c.body.commitId)
    expect(new Set(ids).size).toBe(ids.length)
    for (const c of log) {
      expect(c.msgId).toBe(c.body.commitId)
      expect(c.body.events.map((e) => e.type)).toEqual(['first', 'second'])
    }
    const logged = new Set(ids)
    for (const id of acked) expect(logged.has(id), id).toBe(true)
    const byStream = new Map<string, number[]>()
    for (const c of log) byStream.set(c.body.stream, [...(byStream.get(c.body.stream) ?? []), ...c.body.events.map((e) => e.version)])
    for (const [, versions] of byStream) expect(versions).toEqual(versions.map((_, i) => i + 1))

    second.proc.kill('SIGTERM')
    expect(await second.exited()).toBe(0)
    await nc.close()
  })
})

describe('a processor stopped with SIGTERM mid-load', () => {
  let server: TestNatsServer
  beforeAll(async () => {
    server = await startNatsServer()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('answers what it accepted, exits 0, and every acknowledged append is stored once', async () => {
    const p = spawnProcessor({ NATS_URL: server.url, ALLSOURCE_EXAMPLE_MODULES: '0' })
    await p.ready()
    const nc = await connect({ servers: server.url })
    const client = createAllSourceClient(nc, { timeoutMs: 5_000 })
    const acked: string[] = []
    const outcomes = new Map<string, number>()
    let stop = false
    const writer = async (s: number) => {
      for (let n = 0; !stop; n++) {
        const r = await client.tryAppend('acme', `term-${s}`, [{ type: 'e', payload: { n } }], { commitId: `t-${s}-${n}` })
        const key = r._tag === 'Right' ? 'ok' : r.left.code
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
        if (r._tag === 'Right') acked.push(`t-${s}-${n}`)
        else stop = true
      }
    }
    const writers = Array.from({ length: 50 }, (_, s) => writer(s))
    await vi_waitFor(() => acked.length >= 1_000)
    p.proc.kill('SIGTERM')
    expect(await p.exited()).toBe(0)
    stop = true
    await Promise.all(writers)
    expect(p.output()).toMatch(/draining/)
    // Nothing timed out: in-flight requests were answered; later ones found no responder.
    expect([...outcomes.keys()].every((k) => k === 'ok' || k === 'UNAVAILABLE')).toBe(true)
    const log = await readWholeLog(nc)
    const ids = log.map((c) => c.body.commitId)
    expect(new Set(ids).size).toBe(ids.length)
    const logged = new Set(ids)
    for (const id of acked) expect(logged.has(id), id).toBe(true)
    await nc.close()
  })
})

async function vi_waitFor(cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const started = Date.now()
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time')
    await new Promise((res) => setTimeout(res, 20))
  }
}
