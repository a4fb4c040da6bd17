/**
 * Experiment behind docs/security.md "Isolation design (decided, not built)": does a NATS publish
 * permission on `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>` confine a tenant's JetStream
 * consumers to its own subjects, on the nats-server the project ships (>= 2.12)?
 *
 * Static users in a config file stand in for what the auth callout will grant; the permissions
 * are the same either way. Nothing in src/ is under test: this checks the server's behaviour
 * the design relies on, and one known limit of it (nats-server#8274, push deliver subjects).
 */
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withNatsServer } from '../../support/natsServer.js'

const STREAM = 'ALLSOURCE_EVENTS'
const PROCESSOR_CONSUMER = 'processor'

/** What the callout would grant a tenant reader `t` (see docs/security.md). */
const tenantPermissions = (t: string): string => `{
      publish: {
        allow: [
          "$JS.API.CONSUMER.CREATE.${STREAM}.*.allsource.events.${t}.>",
          "$JS.API.CONSUMER.INFO.${STREAM}.*",
          "$JS.API.CONSUMER.MSG.NEXT.${STREAM}.*",
          "$JS.API.CONSUMER.DELETE.${STREAM}.*",
        ]
        deny: [
          "$JS.API.CONSUMER.*.${STREAM}.${PROCESSOR_CONSUMER}",
          "$JS.API.CONSUMER.*.${STREAM}.${PROCESSOR_CONSUMER}.>",
          "$JS.API.CONSUMER.MSG.NEXT.${STREAM}.${PROCESSOR_CONSUMER}",
        ]
      }
      subscribe: { allow: ["_INBOX.${t}.>"] }
    }`

// `launcher` only exists because the launcher's readiness probe connects without credentials and
// asks `$JS.API.INFO`; it is this test's no_auth_user, not part of the design.
const config = `
authorization {
  users: [
    { user: launcher, password: launcher, permissions: { publish: ["$JS.API.INFO"], subscribe: ["_INBOX.>"] } }
    { user: processor, password: processor }
    { user: acme, password: acme, permissions: ${tenantPermissions('acme')} }
    { user: globex, password: globex, permissions: ${tenantPermissions('globex')} }
  ]
}
no_auth_user: launcher
`

const as = (url: string, t: string): Promise<NatsConnection> =>
  connect({ servers: url, user: t, pass: t, inboxPrefix: `_INBOX.${t}.k1`, reconnect: false })

describe('consumer-create permissions confine a tenant to its own filter (nats-server experiment)', () => {
  const server = withNatsServer({ config })
  let processor: NatsConnection
  let acme: NatsConnection
  let procJsm: JetStreamManager
  let acmeJsm: JetStreamManager

  beforeAll(async () => {
    processor = await connect({ servers: server().url, user: 'processor', pass: 'processor' })
    procJsm = await jetstreamManager(processor)
    await procJsm.streams.add({ name: STREAM, subjects: ['allsource.events.>'] })
    const js = jetstream(processor)
    await js.publish('allsource.events.acme.s1', 'acme-1')
    await js.publish('allsource.events.globex.s1', 'globex-secret')
    await js.publish('allsource.events.acme.s2', 'acme-2')
    await procJsm.consumers.add(STREAM, { durable_name: PROCESSOR_CONSUMER, ack_policy: 'explicit' })
    acme = await as(server().url, 'acme')
    // checkAPI:false: a tenant may not publish $JS.API.INFO.
    acmeJsm = await jetstreamManager(acme, { checkAPI: false, timeout: 2_000 })
  })
  afterAll(async () => {
    await acme?.close()
    await processor?.close()
  })

  it('runs against the server the project ships (>= 2.12)', () => {
    const [major, minor] = (processor.info?.version ?? '0.0').split('.').map(Number)
    expect(major! > 2 || (major === 2 && minor! >= 12)).toBe(true)
  })

  const consumerNames = async (): Promise<string[]> => (await procJsm.consumers.list(STREAM).next()).map((c) => c.name)

  it('creates a consumer filtered inside the own tenant and reads only that tenant', async () => {
    const info = await acmeJsm.consumers.add(STREAM, { name: 'acme_r1', filter_subject: 'allsource.events.acme.>', ack_policy: 'none' })
    expect(info.config.filter_subject).toBe('allsource.events.acme.>')
    const c = await jetstream(acme, { checkAPI: false, timeout: 2_000 }).consumers.get(STREAM, 'acme_r1')
    const batch = await c.fetch({ max_messages: 10, expires: 1_000 })
    const got: string[] = []
    for await (const m of batch) got.push(m.string())
    expect(got).toEqual(['acme-1', 'acme-2'])
  })

  it('cannot create a consumer filtered on another tenant', async () => {
    await expect(
      acmeJsm.consumers.add(STREAM, { name: 'acme_spy', filter_subject: 'allsource.events.globex.>', ack_policy: 'none' }),
    ).rejects.toThrow(/permission|timeout/i)
    expect(await consumerNames()).not.toContain('acme_spy')
  })

  it('cannot create an unfiltered consumer, nor one with a filter_subjects list (both use the bare create subject)', async () => {
    await expect(acmeJsm.consumers.add(STREAM, { name: 'acme_all', ack_policy: 'none' })).rejects.toThrow(/permission|timeout/i)
    await expect(
      acmeJsm.consumers.add(STREAM, { name: 'acme_multi', filter_subjects: ['allsource.events.acme.>', 'allsource.events.globex.>'], ack_policy: 'none' }),
    ).rejects.toThrow(/permission|timeout/i)
    expect(await consumerNames()).not.toEqual(expect.arrayContaining(['acme_all']))
    expect(await consumerNames()).not.toContain('acme_multi')
  })

  it('the server refuses a body filter that differs from the filter in the permitted create subject', async () => {
    const body = JSON.stringify({ stream_name: STREAM, config: { name: 'acme_sneak', filter_subject: 'allsource.events.globex.>', ack_policy: 'none' } })
    const reply = await acme.request(`$JS.API.CONSUMER.CREATE.${STREAM}.acme_sneak.allsource.events.acme.>`, body, { timeout: 2_000 })
    const answer = reply.json<{ error?: { code: number; err_code: number; description: string } }>()
    expect(answer.error?.code).toBe(400)
    expect(await consumerNames()).not.toContain('acme_sneak')
  })

  it("cannot take over, read or inspect the processor's consumer, nor subscribe to _INBOX.>", async () => {
    await expect(
      acmeJsm.consumers.add(STREAM, { name: PROCESSOR_CONSUMER, filter_subject: 'allsource.events.acme.>', ack_policy: 'none' }),
    ).rejects.toThrow(/permission|timeout/i)
    await expect(acmeJsm.consumers.info(STREAM, PROCESSOR_CONSUMER)).rejects.toThrow(/permission|timeout/i)
    const info = await procJsm.consumers.info(STREAM, PROCESSOR_CONSUMER)
    expect(info.config.filter_subject ?? '').toBe('')
    // A denied subscription is reported asynchronously; the connection's status stream says so.
    const denied = (async () => {
      for await (const s of acme.status()) if (s.type === 'error' && /permissions violation/i.test(String(s.error))) return true
      return false
    })()
    acme.subscribe('_INBOX.>')
    expect(await denied).toBe(true)
  })

  it('known limit: a consumer name is a bearer capability (MSG.NEXT.<stream>.* reads any consumer whose name is known)', async () => {
    const globex = await as(server().url, 'globex')
    try {
      const gjsm = await jetstreamManager(globex, { checkAPI: false, timeout: 2_000 })
      await gjsm.consumers.add(STREAM, { name: 'globex_r1', filter_subject: 'allsource.events.globex.>', ack_policy: 'none' })
      // acme may not create a consumer on globex's subjects, but it may pull from one it can name.
      const c = await jetstream(acme, { checkAPI: false, timeout: 2_000 }).consumers.get(STREAM, 'globex_r1')
      const got: string[] = []
      for await (const m of await c.fetch({ max_messages: 5, expires: 1_000 })) got.push(m.string())
      expect(got).toEqual(['globex-secret'])
    } finally {
      await procJsm.consumers.delete(STREAM, 'globex_r1').catch(() => false)
      await globex.close()
    }
  })

  it('known limit: a create on a known name may update another tenant’s consumer (its filter becomes the attacker’s)', async () => {
    const globex = await as(server().url, 'globex')
    try {
      const gjsm = await jetstreamManager(globex, { checkAPI: false, timeout: 2_000 })
      await gjsm.consumers.add(STREAM, { name: 'globex_r2', filter_subject: 'allsource.events.globex.>', ack_policy: 'none' })
      // No `action` in the body: create-or-update.
      const body = JSON.stringify({ stream_name: STREAM, config: { name: 'globex_r2', filter_subject: 'allsource.events.acme.>', ack_policy: 'none' } })
      const reply = await acme.request(`$JS.API.CONSUMER.CREATE.${STREAM}.globex_r2.allsource.events.acme.>`, body, { timeout: 2_000 })
      const answer = reply.json<{ error?: unknown; config?: { filter_subject?: string } }>()
      expect(answer.error).toBeUndefined()
      expect((await procJsm.consumers.info(STREAM, 'globex_r2')).config.filter_subject).toBe('allsource.events.acme.>')
    } finally {
      await procJsm.consumers.delete(STREAM, 'globex_r2').catch(() => false)
      await globex.close()
    }
  })

  it('known limit: a pull request (MSG.NEXT) with a foreign reply subject delivers onto another tenant’s subject', async () => {
    // Publish permissions check the subject, not the reply subject (only reserved `_R_.`,
    // `$JS.ACK.`, `$GNR.` replies are refused), so denying push consumers alone does not stop
    // JetStream from writing a tenant's own events onto a foreign subject.
    await acmeJsm.consumers.add(STREAM, { name: 'acme_pull', filter_subject: 'allsource.events.acme.>', ack_policy: 'none' })
    const victim = processor.subscribe('allsource.projections.globex.pulled', { max: 1 })
    await processor.flush()
    try {
      acme.publish(`$JS.API.CONSUMER.MSG.NEXT.${STREAM}.acme_pull`, JSON.stringify({ batch: 1, expires: 1_000_000_000 }), {
        reply: 'allsource.projections.globex.pulled',
      })
      const seen: string[] = []
      for await (const m of victim) seen.push(`${m.subject} ${m.string()} ${m.reply?.startsWith(`$JS.ACK.${STREAM}.`) === true}`)
      expect(seen).toEqual(['allsource.events.acme.s1 acme-1 true'])
    } finally {
      await procJsm.consumers.delete(STREAM, 'acme_pull').catch(() => false)
    }
  })

  it('known limit (nats-server#8274): a push consumer may deliver onto another tenant’s subject', async () => {
    const globex = await as(server().url, 'globex')
    const victim = processor.subscribe('allsource.projections.globex.feed', { max: 2 })
    await processor.flush()
    try {
      await acmeJsm.consumers.add(STREAM, {
        name: 'acme_push',
        filter_subject: 'allsource.events.acme.>',
        deliver_subject: 'allsource.projections.globex.feed',
        ack_policy: 'none',
      })
      const seen: string[] = []
      for await (const m of victim) seen.push(`${m.subject} ${m.string()} ${m.reply?.startsWith(`$JS.ACK.${STREAM}.`) === true}`)
      // The server accepted a deliver subject outside acme's permissions and wrote acme's events
      // onto globex's projection topic. What tells them apart (and what the design's subscribers
      // check, docs/security.md): a JetStream delivery keeps its stream subject as the message
      // subject, here acme's, and carries a `$JS.ACK.` reply, even with ack_policy none.
      expect(seen).toEqual(['allsource.events.acme.s1 acme-1 true', 'allsource.events.acme.s2 acme-2 true'])
    } finally {
      await procJsm.consumers.delete(STREAM, 'acme_push').catch(() => false)
      await globex.close()
    }
  })
})
