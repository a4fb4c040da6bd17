import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** Where the built web console is (docs/console.md): `dist/console` of the package, written by `npm start`'s build step. */
export interface ConsoleFiles {
  /** The directory holding `index.html`, `app.js` and `style.css`. */
  readonly dir: string
}

const TYPES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
}

// The page loads only its own files and talks only to this gateway (fetch and WebSocket): no CDN.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>AllSource console not built</title></head><body>
<h1>The AllSource web console is not built</h1>
<p>Build it with <code>npm run build:console</code> (or restart with <code>npm start</code>, which builds it when its sources changed), then reload this page.</p>
</body></html>
`

/**
 * `GET /console` (the page) and `GET /console/<file>` (its script and style sheet): the built web
 * console, served as static files. They hold no data and need no credential; every datum the page
 * shows comes from the gateway's public API with the credential the user logs in with. Only the
 * build's own files are served (no path from the URL reaches the file system). With no build, the
 * page is a 503 saying how to build it.
 */
export const registerConsoleRoutes = (app: FastifyInstance, files: ConsoleFiles | undefined): void => {
  const hidden = { schema: { hide: true } }
  const send = async (reply: FastifyReply, name: string) => {
    const type = TYPES[name]
    if (type === undefined || files === undefined) return reply.code(files === undefined ? 503 : 404).type('text/html; charset=utf-8').send(files === undefined ? NOT_BUILT : 'no such console file')
    let body: Buffer
    try {
      body = await readFile(join(files.dir, name))
    } catch {
      return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT)
    }
    return reply.type(type).header('cache-control', 'no-cache').header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').send(body)
  }
  app.get('/console', hidden, async (_req, reply) => send(reply, 'index.html'))
  app.get<{ Params: { file: string } }>('/console/:file', hidden, async (req, reply) => send(reply, req.params.file))
}
