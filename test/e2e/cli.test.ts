import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, headers } from '@nats-io/transport-node'
import { pack } from 'msgpackr'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { listDeadLetters } from '../../src/adapters/nats/ingest/deadLetters.js'
import { ensureIngestStreams } from '../../src/adapters/nats/ingest/ingestStreams.js'
import { bankAccountModule } from '../../src/domain/examples/bankAccount.js'
import { createAllSource } from '../../src/main/allSource.js'
import { withNatsServer } from '../support/natsServer.js'
import { root } from '../support/processor.js'
import { eventCounter } from '../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../src/domain/projections/projection.js'

const configDir = mkdtempSync(join(tmpdir(), 'allsource-cli-config-'))

const cli = async (url: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> => {
  try {
    // --json: one JSON document (NDJSON for lists) on stdout, and the error document on failure.
    // The compiled CLI (dist/, built once by the tier's global setup): a process start without tsx's compile.
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [resolve(root, 'dist/src/main/cli.js'), ...args, '--json'], {
      cwd: root,
      env: { ...process.env, NATS_URL: url, ALLSOURCE_CONFIG_DIR: configDir, ALLSOURCE_CONTEXT: '', ALLSOURCE_TOKEN: '', ALLSOURCE_TENANT: '' },
    })
    return { code: 0, out: stdout, err: stderr }
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string }
    return { code: x.code, out: x.stdout, err: x.stderr }
  }
}

describe('the CLI', () => {
  const server = withNatsServer()
  afterAll(() => rmSync(configDir, { recursive: true, force: true }))

  it('appends and reads, and lists and re-drives dead letters', async () => {
    const url = server().url
    const nc = await connect({ servers: url })
    const app = await createAllSource({ nc, modules: [bankAccountModule] })
    await app.serve()
    await ensureIngestStreams(await jetstreamManager(nc))
    await app.startIngest()

    const appended = await cli(url, 'append', 'acme', 'cli-1', '{"type":"a","payload":{"x":1}}', '--expected-version', 'no_stream')
    expect(appended.code).toBe(0)
    expect(JSON.parse(appended.out)).toMatchObject({ tenant: 'acme', stream: 'cli-1', toVersion: 1 })
    const stale = await cli(url, 'append', 'acme', 'cli-1', '{"type":"a","payload":{}}', '--expected-version', '0')
    expect(stale.code).toBe(1)
    expect(JSON.parse(stale.out).error).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', actual: 1 })
    const queried = await cli(url, 'query', 'acme', '{"stream":"cli-1"}')
    expect(JSON.parse(queried.out).events).toMatchObject([{ stream: 'cli-1', offset: 1 }])
    expect((await cli(url, 'query', 'ac.me')).code).toBe(1)
    const read = await cli(url, 'read', 'acme', 'cli-1')
    expect(JSON.parse(read.out)).toMatchObject({ version: 1, events: [{ type: 'a', payload: { x: 1 } }] })
    // A 64-bit integer (a BigInt once decoded) prints as the JSON replies carry it.
    await app.append('acme', 'big-1', [{ type: 'a', payload: { small: 7n, big: 2n ** 63n + 5n } }])
    const big = await cli(url, 'read', 'acme', 'big-1')
    expect(big.code, big.err).toBe(0)
    expect(JSON.parse(big.out)).toMatchObject({ events: [{ payload: { small: 7, big: '9223372036854775813' } }] })

    await jetstream(nc).publish('allsource.ingest.acme.account-9', pack({ type: 'MoneyDeposited', payload: { amount: 3 } }))
    let listed: { id: number; code: string }[] = []
    for (let i = 0; i < 100 && listed.length === 0; i++) {
      listed = (await cli(url, 'dlq', 'list', '--tenant', 'acme')).out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
      if (listed.length === 0) await new Promise((r) => setTimeout(r, 100))
    }
    expect(listed).toMatchObject([{ code: 'VALIDATION_FAILED' }])
    await app.execute('acme', 'account-9', { type: 'Open', owner: 'ann' })
    expect((await cli(url, 'dlq', 'redrive', String(listed[0]!.id))).code).toBe(0)
    const again = await cli(url, 'dlq', 'redrive', String(listed[0]!.id))
    expect(again.code).toBe(1)
    expect(JSON.parse(again.out).error.code).toBe('NOT_FOUND')

    // JSON sent as msgpack: dead-lettered; re-driven with the right Content-Type, it is appended.
    const msgpackHeader = headers()
    msgpackHeader.set('Content-Type', 'application/msgpack')
    await jetstream(nc).publish('allsource.ingest.acme.cli-json', '{"type":"j","payload":{"y":2}}', { headers: msgpackHeader })
    let json: { id: number; ingestSubject: string }[] = []
    for (let i = 0; i < 100 && json.length === 0; i++) {
      json = (await listDeadLetters(nc, { tenant: 'acme' })).filter((d) => d.ingestSubject.endsWith('cli-json'))
      if (json.length === 0) await new Promise((r) => setTimeout(r, 100))
    }
    expect((await cli(url, 'dlq', 'redrive', String(json[0]!.id), '--content-type', 'application/json')).code).toBe(0)
    let redriven = ''
    for (let i = 0; i < 100 && !redriven.includes('"y":2'); i++) {
      redriven = (await cli(url, 'read', 'acme', 'cli-json')).out
      if (!redriven.includes('"y":2')) await new Promise((r) => setTimeout(r, 100))
    }
    expect(JSON.parse(redriven)).toMatchObject({ events: [{ type: 'j', payload: { y: 2 } }] })

    const created = await cli(url, 'sub', 'create', 'acme', 'watcher', '--from', '1')
    expect(created.code).toBe(0)
    expect(JSON.parse(created.out)).toMatchObject({ name: 'watcher', acknowledged: 0 })
    expect(JSON.parse((await cli(url, 'sub', 'position', 'acme', 'watcher')).out).lag).toBeGreaterThan(0)
    const beyond = await cli(url, 'sub', 'reset', 'acme', 'watcher', '--to', '999999')
    expect(beyond.code).toBe(1)
    expect(JSON.parse(beyond.out).error.code).toBe('BAD_REQUEST')
    expect((await cli(url, 'sub', 'reset', 'acme', 'watcher', '--to', new Date().toISOString())).code).toBe(0)
    expect((await cli(url, 'sub', 'create', 'acme', 'watcher')).code).toBe(1)
    expect((await cli(url, 'sub', 'delete', 'acme', 'watcher')).code).toBe(0)
    expect(JSON.parse((await cli(url, 'sub', 'position', 'acme', 'watcher')).out).error.code).toBe('NOT_FOUND')
    const filtered = await cli(url, 'sub', 'create', 'acme', 'only-j', '--where', 'type = "j" and exists payload.y')
    expect(filtered.code).toBe(0)
    expect(JSON.parse(filtered.out)).toMatchObject({ name: 'only-j', where: { and: [{ eq: ['type', 'j'] }, { exists: 'payload.y' }] } })
    const badWhere = await cli(url, 'sub', 'create', 'acme', 'bad-where', '--where', 'type = ')
    expect(badWhere.code).toBe(1)
    expect(JSON.parse(badWhere.out).error).toMatchObject({ code: 'BAD_REQUEST', field: 'where', offset: 7 })
    const whereQuery = await cli(url, 'query', 'acme', JSON.stringify({ where: 'type = "j" and payload.y = 2' }))
    expect(JSON.parse(whereQuery.out)).toMatchObject({ events: [{ type: 'j', payload: { y: 2 } }] })

    const snap = await cli(url, 'snapshot', 'acme', 'account-9')
    expect(snap.code).toBe(0)
    expect(JSON.parse(snap.out)).toMatchObject({ stateVersion: 1, state: { owner: 'ann' } })
    expect(JSON.parse((await cli(url, 'state', 'acme', 'account-9', '--version', '1')).out)).toMatchObject({ version: 1, state: { status: 'open' } })
    expect(JSON.parse((await cli(url, 'snapshot', 'acme', 'plain-1')).out).error.code).toBe('BAD_REQUEST')

    expect((await cli(url, 'frobnicate')).code).toBe(2)
    await app.close()
    await nc.close()
  }, 120_000)

  it('runs analytics: the flags build the request; an unknown kind is NOT_FOUND', async () => {
    const url = server().url
    const nc = await connect({ servers: url })
    const app = await createAllSource({ nc, snapshotEvery: 0 })
    await app.serve()
    try {
      await app.append('shop', 'o-1', [{ type: 'cart', payload: {} }, { type: 'paid', payload: { total: 5 } }])
      await app.append('shop', 'o-2', [{ type: 'cart', payload: {} }])
      const funnel = await cli(url, 'analytics', 'funnel', 'shop', '--step', 'type = "cart"', '--step', '{"eq":["type","paid"]}', '--within-ms', '3600000', '--where', 'stream != "nope"')
      expect(funnel.code).toBe(0)
      expect(JSON.parse(funnel.out)).toEqual({ steps: [{ count: 2 }, { count: 1 }] })
      const trends = await cli(url, 'analytics', 'trends', 'shop')
      expect([trends.code, JSON.parse(trends.out).error.code]).toEqual([1, 'NOT_FOUND'])
    } finally {
      await app.close()
      await nc.close()
    }
  }, 60_000)

  it('shows projection status, reads keys and pages, pauses, resumes and rebuilds', async () => {
    const url = server().url
    const nc = await connect({ servers: url })
    const app = await createAllSource({ nc, modules: [], projectionOptions: { retireAfterMs: 200 } })
    await app.serve()
    const [counter] = await app.startProjections([eventCounter] as ProjectionDefinition<unknown>[])
    const w = await app.append('acme', 'proj-1', [{ type: 'seen', payload: {} }, { type: 'seen', payload: {} }])
    if (w._tag !== 'Right') throw new Error('append failed')
    const got = await cli(url, 'proj', 'get', 'acme', 'event-counter', 'seen', '--min-offset', String(w.right.offset))
    expect(got.code).toBe(0)
    expect(JSON.parse(got.out)).toMatchObject({ key: 'seen', state: { count: 2 } })
    expect(JSON.parse((await cli(url, 'proj', 'keys', 'acme', 'event-counter', '--limit', '5')).out)).toMatchObject({ keys: expect.arrayContaining(['seen']) })
    const status = await cli(url, 'proj', 'status')
    expect(status.code, status.out + status.err).toBe(0)
    expect(status.out.trim().split('\n').map((l) => JSON.parse(l))).toMatchObject([{ name: 'event-counter', state: 'live', lag: 0 }])
    expect(JSON.parse((await cli(url, 'proj', 'pause', 'event-counter')).out)).toMatchObject({ control: { paused: true } })
    await counter?.until((s) => s.state === 'paused')
    expect(JSON.parse((await cli(url, 'proj', 'status', 'event-counter')).out)).toMatchObject({ state: 'paused' })
    expect((await cli(url, 'proj', 'resume', 'event-counter')).code).toBe(0)
    expect(JSON.parse((await cli(url, 'proj', 'rebuild', 'event-counter', '--from', '0')).out)).toMatchObject({ control: { rebuild: { fromOffset: 0 } } })
    await counter?.until((s) => s.generation === 2 && s.state === 'live')
    expect(JSON.parse((await cli(url, 'proj', 'get', 'acme', 'event-counter', 'seen')).out)).toMatchObject({ state: { count: 2 } })
    const missing = await cli(url, 'proj', 'get', 'acme', 'event-counter', 'unseen')
    expect(missing.code).toBe(1)
    expect(JSON.parse(missing.out).error.code).toBe('NOT_FOUND')
    expect(JSON.parse((await cli(url, 'proj', 'rebuild', 'event-counter', '--from', '99')).out).error.code).toBe('BAD_REQUEST')
    expect(JSON.parse((await cli(url, 'proj', 'status', 'bad name')).out).error.code).toBe('INVALID_ID')
    expect((await cli(url, 'proj', 'frobnicate')).code).toBe(2)
    await app.close()
    await nc.close()
  }, 120_000)
})
