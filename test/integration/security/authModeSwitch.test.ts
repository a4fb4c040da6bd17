/**
 * Switching the embedded server between open mode and auth mode keeps the log: JetStream keeps an
 * account's streams under `<store>/jetstream/<account>` (`$G` without accounts, `ALLSOURCE` in
 * auth mode), and `connectToNats` moves the directory when the mode changes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import { createAllSource } from '../../../src/main/allSource.js'
import { loadConfig } from '../../../src/main/config.js'
import { connectToNats } from '../../../src/main/connectToNats.js'
import { freePort } from '../../../src/main/natsServer/launchNatsServer.js'
import { loadOrCreateAuthMaterial } from '../../../src/main/auth/authMaterial.js'
import { startAuthServer } from '../../support/authServer.js'
import { startNatsServer } from '../../support/natsServer.js'
import { natsServer210Path } from '../../support/natsTopologies.js'

describe('switching auth mode on the embedded server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-authswitch-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const session = async (auth: 'on' | 'off', log: string[]) => {
    const config = {
      ...loadConfig({}),
      natsUrl: undefined,
      embedded: 'always' as const,
      embeddedPort: await freePort(),
      dataDir: dir,
      auth,
    }
    return connectToNats(config, (m) => log.push(m))
  }

  it('keeps every event across open → auth → open', async () => {
    const log: string[] = []
    const open = await session('off', log)
    expect(open.auth).toBeUndefined()
    const app1 = await createAllSource({ nc: open.nc, snapshotEvery: 0, warn: () => undefined })
    expect(E.isRight(await app1.append('acme', 'order-1', [{ type: 'order.placed', payload: { n: 1 } }]))).toBe(true)
    await app1.close()
    await open.nc.close()
    await open.server?.stop()
    expect(existsSync(join(dir, 'jetstream', '$G'))).toBe(true)

    const authed = await session('on', log)
    expect(authed.auth).toBeDefined()
    expect(log.join('\n')).toMatch(/moved the JetStream store of account \$G to account ALLSOURCE/)
    const app2 = await createAllSource({ nc: authed.nc, snapshotEvery: 0, warn: () => undefined })
    const page = await app2.read('acme', 'order-1')
    expect(E.isRight(page) && page.right.events.map((e) => e.payload)).toEqual([{ n: 1 }])
    expect(E.isRight(await app2.append('acme', 'order-1', [{ type: 'order.placed', payload: { n: 2 } }]))).toBe(true)
    await app2.close()
    await authed.nc.close()
    await authed.server?.stop()

    const again = await session('off', log)
    expect(log.join('\n')).toMatch(/moved the JetStream store of account ALLSOURCE to account \$G/)
    const app3 = await createAllSource({ nc: again.nc, snapshotEvery: 0, warn: () => undefined })
    const all = await app3.read('acme', 'order-1')
    expect(E.isRight(all) && all.right.events.map((e) => e.payload)).toEqual([{ n: 1 }, { n: 2 }])
    await app3.close()
    await again.nc.close()
    await again.server?.stop()
  }, 60_000)
})

describe('an external server (NATS_URL)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-authext-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const config = (url: string, auth: 'auto' | 'on' | 'off') => ({ ...loadConfig({}), natsUrl: url, dataDir: dir, auth })

  it('auto: open with a warning when the server has no auth; on: refused there', async () => {
    const server = await startNatsServer()
    try {
      const log: string[] = []
      const s = await connectToNats(config(server.url, 'auto'), (m) => log.push(m))
      expect(s.auth).toBeUndefined()
      expect(log.join('\n')).toMatch(/WARNING: .* has no auth configured: running OPEN/)
      await s.nc.close()
      await expect(connectToNats(config(server.url, 'on'))).rejects.toThrow(/accepts clients without credentials/)
    } finally {
      await server.stop()
    }
  })

  it('auto and on: auth mode when the server is configured with the data dir\'s block', async () => {
    const server = await startAuthServer(loadOrCreateAuthMaterial(dir))
    try {
      for (const mode of ['auto', 'on'] as const) {
        const s = await connectToNats(config(server.url, mode))
        expect(s.auth?.url).toBe(server.url)
        await s.nc.close()
      }
      // Another data dir's material: the server refuses the processor's nkey, and says what to do.
      const other = mkdtempSync(join(tmpdir(), 'allsource-authext-other-'))
      try {
        await expect(connectToNats({ ...config(server.url, 'on'), dataDir: other })).rejects.toThrow(/refused the processor's nkey; configure it/)
      } finally {
        rmSync(other, { recursive: true, force: true })
      }
    } finally {
      await server.stop()
    }
  })

  it('refuses auth mode on a nats-server older than 2.12.12 / 2.14.3, with the reason', async () => {
    const server = await startAuthServer(loadOrCreateAuthMaterial(dir), natsServer210Path())
    try {
      await expect(connectToNats(config(server.url, 'auto'))).rejects.toThrow(/auth mode needs nats-server >= 2\.12\.12 .* runs 2\.10\.27/)
    } finally {
      await server.stop()
    }
  })
})
