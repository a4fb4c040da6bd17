/**
 * The web console (docs/console.md) in Debian's headless chromium, driven by playwright-core,
 * against `npm start`'s processor in auth mode and a nats-server the test starts: each page is
 * clicked through and what it shows is checked.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserTierBlocked, launchChromium, type RunningBrowser } from '../support/browser.js'
import { cleanUp } from '../support/cleanUp.js'
import { type ConsoleProcessor, startConsoleProcessor } from '../support/consoleProcessor.js'

const blocked = browserTierBlocked()
if (blocked !== undefined) {
  // Loud on purpose: a skipped tier must not pass unnoticed.
  console.error(`\n${'!'.repeat(78)}\n!! BROWSER TIER SKIPPED: ${blocked}\n!! The web console's tests did not run.\n${'!'.repeat(78)}\n`)
}

describe.skipIf(blocked !== undefined)('the web console in headless chromium', () => {
  let f: ConsoleProcessor | undefined
  let b: RunningBrowser | undefined
  let page: Page
  let adminKey = ''
  const tenant = 'acme'

  const api = (method: string, path: string, key: string, body?: unknown) => {
    if (f === undefined) throw new Error('no processor')
    return f.api(method, path, key, body)
  }

  beforeAll(async () => {
    ;[f, b] = await Promise.all([startConsoleProcessor(), launchChromium()])
    expect((await api('POST', '/v1/admin/tenants', f.operatorKey, { tenant, tier: 'pro' })).status).toBe(201)
    const key = await api('POST', `/v1/admin/${tenant}/keys`, f.operatorKey, { role: 'admin', name: 'console-admin' })
    expect(key.status).toBe(201)
    adminKey = String(key.body.key)
    page = await b.browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.setDefaultTimeout(20_000)
  }, 120_000)
  afterAll(() => cleanUp(() => b?.close(), () => f?.stop()))

  const login = async (key: string) => {
    await page.goto(`${f?.url ?? ''}/console`)
    await page.getByLabel('API key', { exact: true }).fill(key)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('navigation', { name: 'Console pages' }).waitFor()
  }
  const go = async (name: string) => {
    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name }).click()
    await page.getByRole('heading', { level: 1, name }).waitFor()
  }

  it('serves the page at /console with a CSP that allows nothing but the gateway', async () => {
    const res = await fetch(`${f?.url ?? ''}/console`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await res.text()).toContain('/console/app.js')
    expect((await fetch(`${f?.url ?? ''}/console/../package.json`)).status).not.toBe(200)
    expect((await fetch(`${f?.url ?? ''}/console/secret.txt`)).status).toBe(404)
  })

  it('refuses a wrong key at login, then logs the tenant admin in and shows the overview from /metrics', async () => {
    await page.goto(`${f?.url ?? ''}/console`)
    await page.getByLabel('API key', { exact: true }).fill('as_not-a-key')
    await page.getByRole('button', { name: 'Log in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('UNAUTHORIZED')
    await login(adminKey)
    expect(await page.getByTestId('role').textContent()).toBe('admin')
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
    // An append through the API shows in the append rate's history.
    expect((await api('POST', `/v1/tenants/${tenant}/streams/order-1`, adminKey, { events: [{ type: 'order.placed', payload: { total: 42, items: ['a'] } }] })).status).toBe(201)
    await expect.poll(async () => Number((await page.getByTestId('actors').locator('output').textContent())?.replace(/,/g, '')), { timeout: 20_000 }).toBeGreaterThanOrEqual(1)
  })

  it('Streams: finds streams by prefix, pages through one, shows an event, diffs two versions, and gives the commands', async () => {
    expect((await api('POST', `/v1/tenants/${tenant}/streams/order-1`, adminKey, { events: [{ type: 'order.paid', payload: { total: 40, items: ['a', 'b'], paid: true } }] })).status).toBe(201)
    expect((await api('POST', `/v1/tenants/${tenant}/streams/invoice-9`, adminKey, { events: [{ type: 'invoice.sent', payload: {} }] })).status).toBe(201)
    await go('Streams')
    await page.getByLabel('Stream name prefix').fill('order-')
    await page.getByRole('button', { name: 'Find streams' }).click()
    const list = page.getByTestId('stream-list')
    await list.getByRole('button', { name: 'order-1' }).waitFor()
    expect(await list.textContent()).not.toContain('invoice-9')
    await list.getByRole('button', { name: 'order-1' }).click()
    await expect.poll(() => page.getByTestId('stream-version').textContent()).toBe('2')
    expect(await page.getByTestId('events').locator('tr').count()).toBe(2)
    await page.getByRole('button', { name: 'Show event 2 (order.paid)' }).click()
    expect(await page.getByLabel('the event as JSON').textContent()).toContain('"paid": true')
    const diff = await page.getByTestId('diff').textContent()
    expect(diff).toContain('total changed')
    expect(diff).toContain('items[1] added')
    expect(diff).toContain('paid added')
    expect(await page.getByLabel('curl command for this page').textContent()).toContain(`/v1/tenants/${tenant}/streams/order-1?fromVersion=1`)
    expect(await page.getByLabel('curl command for this page').textContent()).not.toContain(adminKey)
    expect(await page.getByLabel('allsource command for this page').textContent()).toBe(`allsource read ${tenant} order-1 --from-version 1 --limit 20`)
  })
})
