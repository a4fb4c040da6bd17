/**
 * The web console (docs/console.md) in Debian's headless chromium, driven by playwright-core,
 * against `npm start`'s processor in auth mode and a nats-server the test starts. Every page is
 * clicked through and what it shows is checked; each page passes axe-core with no serious or
 * critical violation, and its screenshot is written to docs/console/<page>.png.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { jetstream } from '@nats-io/jetstream'
import { headers } from '@nats-io/transport-node'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserTierBlocked, launchChromium, type RunningBrowser } from '../support/browser.js'
import { cleanUp } from '../support/cleanUp.js'
import { type ConsoleProcessor, startConsoleProcessor } from '../support/consoleProcessor.js'
import { root } from '../support/processor.js'

const blocked = browserTierBlocked()
if (blocked !== undefined) {
  // Loud on purpose: a skipped tier must not pass unnoticed.
  console.error(`\n${'!'.repeat(78)}\n!! BROWSER TIER SKIPPED: ${blocked}\n!! The web console's tests did not run.\n${'!'.repeat(78)}\n`)
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

interface AxeViolation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly nodes: readonly { readonly target: readonly unknown[] }[]
}

/** Polls until the matcher holds, long enough for a busy shared machine (no timing is asserted). */
const poll = <T>(f: () => T | Promise<T>) => expect.poll(f, { timeout: 30_000, interval: 200 })

describe.skipIf(blocked !== undefined)('the web console in headless chromium', () => {
  let f: ConsoleProcessor | undefined
  let b: RunningBrowser | undefined
  let page: Page
  let adminKey = ''
  const tenant = 'acme'
  const url = () => f?.url ?? ''

  const api = (method: string, path: string, key: string, body?: unknown) => {
    if (f === undefined) throw new Error('no processor')
    return f.api(method, path, key, body)
  }
  const append = async (stream: string, events: readonly { type: string; payload: unknown }[]) => {
    const r = await api('POST', `/v1/tenants/${tenant}/streams/${stream}`, adminKey, { events })
    expect(r.status).toBe(201)
    return r.body as { offset: number }
  }

  beforeAll(async () => {
    ;[f, b] = await Promise.all([startConsoleProcessor(), launchChromium()])
    page = await b.browser.newPage({ viewport: { width: 1280, height: 860 } })
    page.setDefaultTimeout(20_000)
  }, 120_000)
  afterAll(() => cleanUp(() => b?.close(), () => f?.stop()))

  /** Logs in with the keyboard only: type the key, press Enter. */
  const login = async (key: string, operatorTenant?: string) => {
    await page.goto(`${url()}/console`)
    await page.getByLabel('API key', { exact: true }).fill(key)
    if (operatorTenant !== undefined) await page.getByLabel('Tenant (operator key only, optional)').fill(operatorTenant)
    await page.getByLabel('API key', { exact: true }).press('Enter')
    // Either the console or the login's error: say which.
    await page.locator('nav, [role=alert]').first().waitFor()
  }
  const loggedIn = async () => {
    const alert = page.getByRole('alert')
    if ((await alert.count()) > 0) throw new Error(`login refused: ${await alert.first().textContent()}`)
    await nav().waitFor()
  }
  const nav = () => page.getByRole('navigation', { name: 'Console pages' })
  /** Goes to a page with the keyboard: focus its link, press Enter. */
  const go = async (name: string) => {
    await nav().getByRole('link', { name }).focus()
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { level: 1, name }).waitFor()
  }
  const logout = async () => {
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByRole('button', { name: 'Log in' }).waitFor()
  }
  const shots = process.env.ALLSOURCE_SCREENSHOTS === '1' ? join(root, 'docs', 'console') : mkdtempSync(join(tmpdir(), 'allsource-console-shots-'))
  /** axe-core on the page as it is: no serious or critical violation; then the screenshot for docs/console.md. */
  const checkAndShoot = async (name: string) => {
    await page.evaluate(axeSource)
    // A string, evaluated in the page (whose globals this file's types do not know).
    const violations = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
      .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target).slice(0, 3) })))`)) as readonly AxeViolation[]
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([])
    // docs/console/*.png only when asked (ALLSOURCE_SCREENSHOTS=1), so a test run leaves the checkout clean.
    await page.screenshot({ path: join(shots, `${name}.png`) })
  }

  it('serves the page at /console with a CSP that allows nothing but this gateway, and only its own files', async () => {
    const res = await fetch(`${url()}/console`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await res.text()).toContain('/console/app.js')
    expect((await fetch(`${url()}/console/secret.txt`)).status).toBe(404)
  })

  it('the operator creates a tenant and an admin key (shown once), revokes a key, and reads the audit log', async () => {
    await login(f?.operatorKey ?? '', tenant)
    await loggedIn()
    expect(await page.getByTestId('role').textContent()).toBe('operator')
    await go('Tenants, users & keys')
    await page.getByLabel('New tenant id').fill(tenant)
    await page.getByLabel('Tier').selectOption('pro')
    await page.getByRole('button', { name: 'Create tenant' }).click()
    await page.getByTestId('tenants').getByRole('rowheader', { name: tenant }).waitFor()

    await page.getByLabel('Key role').selectOption('admin')
    await page.getByLabel('Key name (optional)').fill('console-admin')
    await page.getByRole('button', { name: 'Create key' }).click()
    adminKey = (await page.getByLabel('the new API key').textContent()) ?? ''
    expect(adminKey).toMatch(/^as_/)
    await page.getByRole('button', { name: 'I have copied it' }).click()
    await poll(() => page.getByTestId('new-key').count()).toBe(0)
    expect(await page.content()).not.toContain(adminKey)
    await page.getByTestId('keys').getByText('console-admin').waitFor()

    await page.getByLabel('Key role').selectOption('reader')
    await page.getByLabel('Key name (optional)').fill('temp-reader')
    await page.getByRole('button', { name: 'Create key' }).click()
    await page.getByTestId('new-key').waitFor()
    await page.getByRole('button', { name: 'I have copied it' }).click()
    await page.getByRole('button', { name: 'Revoke key temp-reader' }).click()
    await poll(() => page.getByRole('button', { name: 'Revoke key temp-reader' }).count()).toBe(0)

    await page.getByLabel('Action (e.g. key.create or key.>)').fill('key.>')
    await page.getByRole('button', { name: 'Show entries' }).click()
    await poll(() => page.getByTestId('audit').textContent()).toContain('key.revoke')
    expect(await page.getByTestId('audit').textContent()).toContain('key.create')
    expect(await page.getByTestId('audit').textContent()).not.toContain('tenant.create')
    await checkAndShoot('access')
  })

  it('Projections: a key read follows appends; the operator pauses, resumes and rebuilds with progress', async () => {
    await go('Projections')
    const first = await append('order-1', [{ type: 'order.placed', payload: { total: 42, items: ['a'] } }])
    await page.getByRole('combobox', { name: 'Projection' }).selectOption('entity-state')
    await page.getByRole('textbox', { name: 'Key', exact: true }).fill('order-1')
    const readKey = async () => {
      await page.getByRole('button', { name: 'Read' }).click()
      return (await page.getByLabel('the projection entry').textContent().catch(() => '')) ?? ''
    }
    await poll(readKey).toContain('"total": 42')
    await poll(async () => Number(await page.getByTestId('checkpoint-entity-state').textContent())).toBeGreaterThanOrEqual(first.offset)
    await append('order-1', [{ type: 'order.paid', payload: { total: 40, items: ['a', 'b'], paid: true } }])
    await poll(readKey).toContain('"paid": true')

    await page.getByRole('button', { name: 'Pause entity-state' }).click()
    await poll(() => page.getByTestId('state-entity-state').textContent()).toContain('paused')
    await page.getByRole('button', { name: 'Resume entity-state' }).click()
    await poll(() => page.getByTestId('state-entity-state').textContent()).not.toContain('paused')
    expect(await page.getByTestId('state-entity-state').textContent()).toContain('generation 1')
    await page.getByRole('button', { name: 'Rebuild entity-state' }).click()
    await poll(() => page.getByRole('status').first().textContent()).toContain('rebuild of entity-state requested')
    // The rebuild folds into a new read model (generation 2), which then serves the same state.
    await poll(() => page.getByTestId('state-entity-state').textContent()).toContain('generation 2')
    await poll(readKey).toContain('"paid": true')
    await checkAndShoot('projections')
    await logout()
  })

  it('a wrong key is refused at login; the tenant admin sees its pages, not the operator\'s, and the overview from /metrics', async () => {
    await login('as_not-a-key')
    await poll(() => page.getByRole('alert').textContent()).toContain('UNAUTHORIZED')
    await login(adminKey)
    await loggedIn()
    expect(await page.getByTestId('role').textContent()).toBe('admin')
    expect(await nav().getByRole('link').allTextContents()).toEqual(['Overview', 'Streams', 'Live tail', 'Projections', 'Subscriptions & DLQ', 'Tenants, users & keys'])
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
    await poll(async () => Number((await page.getByTestId('actors').locator('output').textContent())?.replace(/,/g, ''))).toBeGreaterThanOrEqual(1)
    await page.getByTestId('lag-entity-state').waitFor()
    await checkAndShoot('overview')
  })

  it('Streams: finds streams by prefix, pages through one, shows an event, diffs two versions, and gives the commands', async () => {
    await append('invoice-9', [{ type: 'invoice.sent', payload: {} }])
    await go('Streams')
    await page.getByLabel('Stream name prefix').fill('order-')
    await page.getByRole('button', { name: 'Find streams' }).click()
    const list = page.getByTestId('stream-list')
    await list.getByRole('button', { name: 'order-1' }).click()
    expect(await list.textContent()).not.toContain('invoice-9')
    await poll(() => page.getByTestId('stream-version').textContent()).toBe('2')
    expect(await page.getByTestId('events').locator('tr').count()).toBe(2)
    await page.getByRole('button', { name: 'order.paid, version 2' }).click()
    expect(await page.getByLabel('the event as JSON').textContent()).toContain('"paid": true')
    const diff = await page.getByTestId('diff').textContent()
    expect(diff).toContain('total changed')
    expect(diff).toContain('items[1] added')
    expect(diff).toContain('paid added')
    const curl = await page.getByLabel('curl command for this page').textContent()
    expect(curl).toContain(`/v1/tenants/${tenant}/streams/order-1?fromVersion=1`)
    expect(curl).not.toContain(adminKey)
    expect(await page.getByLabel('allsource command for this page').textContent()).toBe(`allsource read ${tenant} order-1 --from-version 1 --limit 20`)
    await checkAndShoot('streams')
  })

  it('Live tail: shows events as they arrive, filters with the query language, pauses, and keeps up with a burst of 5,000 events', async () => {
    await go('Live tail')
    await poll(() => page.getByTestId('live-status').textContent()).toContain('live')
    await append('live-1', [{ type: 'order.placed', payload: { total: 7 } }])
    await page.getByTestId('tail').getByText('live-1').waitFor()

    await page.getByLabel('Filter (query language)').fill('type = "order.paid" and payload.total > 40')
    await page.getByRole('button', { name: 'Apply filter' }).click()
    await append('live-2', [{ type: 'order.placed', payload: { total: 99 } }, { type: 'order.paid', payload: { total: 41 } }, { type: 'order.paid', payload: { total: 5 } }])
    await poll(() => page.getByTestId('tail').locator('li').count()).toBe(1)
    expect(await page.getByTestId('tail').textContent()).toContain('{"total":41}')
    await page.getByLabel('Filter (query language)').fill('type = ')
    await page.getByRole('button', { name: 'Apply filter' }).click()
    await page.getByRole('alert').waitFor()
    await page.getByLabel('Filter (query language)').fill('')
    await page.getByRole('button', { name: 'Apply filter' }).click()

    await page.getByRole('button', { name: 'Pause' }).click()
    const before = Number(await page.getByTestId('received').textContent())
    await append('live-3', [{ type: 'while.paused', payload: {} }])
    await poll(async () => Number(await page.getByTestId('received').textContent())).toBe(before + 1)
    expect(await page.getByTestId('tail').textContent()).not.toContain('while.paused')
    await page.getByRole('button', { name: 'Resume' }).click()

    // A burst: 5,000 events in 10 commits. The page reads them all on one connection and stays usable.
    const received = Number(await page.getByTestId('received').textContent())
    for (let c = 0; c < 10; c++) await append(`burst-${c}`, Array.from({ length: 500 }, (_, i) => ({ type: 'burst', payload: { i } })))
    await poll(async () => Number((await page.getByTestId('received').textContent())?.replace(/,/g, ''))).toBe(received + 5_000)
    expect(await page.getByTestId('live-status').textContent()).toContain('live')
    expect(await page.getByTestId('tail').locator('li').count()).toBeLessThanOrEqual(100)
    await page.getByRole('button', { name: 'Pause' }).click()
    await page.getByRole('button', { name: 'Resume' }).waitFor()
    await page.getByRole('button', { name: 'Resume' }).click()
    await checkAndShoot('live')
  })

  it('Subscriptions & DLQ: a subscription\'s position and pending; a dead letter inspected and re-driven', async () => {
    const nc = await f!.nats()
    try {
      // JSON labelled as msgpack: dead-lettered; re-driven with the right Content-Type, it is appended.
      const h = headers()
      h.set('Content-Type', 'application/msgpack')
      await jetstream(nc).publish(`allsource.ingest.${tenant}.paid-1`, JSON.stringify({ type: 'order.paid', payload: { total: 12 } }), { headers: h })
    } finally {
      await nc.close()
    }
    await go('Subscriptions & DLQ')
    await poll(() => page.getByTestId('dlq-count').textContent()).toContain('1 dead letter(s)')
    await page.getByRole('button', { name: /^Inspect dead letter/ }).click()
    expect(await page.getByLabel("the dead letter's body").textContent()).toContain('"total": 12')

    await page.getByLabel('Subscription name').fill('billing')
    await page.getByRole('button', { name: 'Create' }).click()
    await poll(() => page.getByTestId('subscriptions').textContent()).toMatch(/billingall streams0\d+/)

    await page.getByLabel(/^Content-Type to re-drive with/).fill('application/json')
    await page.getByRole('button', { name: /^Re-drive dead letter/ }).click()
    await poll(() => page.getByRole('status').first().textContent()).toContain('re-drove 1 of 1')
    await poll(async () => (await api('GET', `/v1/tenants/${tenant}/streams/paid-1`, adminKey)).body.version).toBe(1)
    await poll(() => page.getByTestId('dlq-count').textContent()).toContain('0 dead letter(s)')
    await checkAndShoot('dlq')
    await logout()
  })

  it('a reader sees only what it may do: no access page, no projection actions, no re-drive', async () => {
    const key = await api('POST', `/v1/admin/${tenant}/keys`, adminKey, { role: 'reader', name: 'console-reader' })
    await login(String(key.body.key))
    await loggedIn()
    expect(await nav().getByRole('link').allTextContents()).toEqual(['Overview', 'Streams', 'Live tail', 'Projections', 'Subscriptions & DLQ'])
    await go('Projections')
    await page.getByTestId('state-entity-state').waitFor()
    expect(await page.getByRole('button', { name: /^(Pause|Rebuild) / }).count()).toBe(0)
    await checkAndShoot('login-reader-projections')
    await logout()
    await checkAndShoot('login')
  })
})
