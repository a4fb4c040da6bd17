import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { NOT_BUILT, registerConsoleRoutes } from '../../../src/adapters/http/consoleRoutes.js'

const dir = mkdtempSync(join(tmpdir(), 'allsource-console-files-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('GET /console', () => {
  it('without a build answers 503 saying how to build it, for the page and its files', async () => {
    for (const files of [undefined, { dir: join(dir, 'missing') }]) {
      const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } }) // as the gateway
      registerConsoleRoutes(app, files)
      for (const url of ['/console', '/console/', '/console/app.js']) {
        const r = await app.inject({ url })
        expect(r.statusCode).toBe(503)
        expect(r.body).toBe(NOT_BUILT)
        expect(r.body).toContain('npm run build:console')
      }
      await app.close()
    }
  })

  it('serves only the build\'s own files, with their types and a CSP; any other name is 404', async () => {
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>')
    writeFileSync(join(dir, 'app.js'), 'console.log(1)')
    writeFileSync(join(dir, 'secret.txt'), 'no')
    const app = Fastify()
    registerConsoleRoutes(app, { dir })
    const page = await app.inject({ url: '/console' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toContain('text/html')
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'")
    expect((await app.inject({ url: '/console/app.js' })).headers['content-type']).toContain('text/javascript')
    for (const url of ['/console/secret.txt', '/console/..%2Fsecret.txt', '/console/%2e%2e%2fpackage.json']) expect((await app.inject({ url })).statusCode).toBe(404)
    await app.close()
  })
})
