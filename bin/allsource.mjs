#!/usr/bin/env node
// The `allsource` command: runs the compiled CLI (dist/, from `npm run build` or `npm start`)
// when it is there, else the TypeScript sources through tsx. ALLSOURCE_CLI_SOURCE=1 forces the sources.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const compiled = join(root, 'dist', 'src', 'main', 'cli.js')
if (existsSync(compiled) && process.env.ALLSOURCE_CLI_SOURCE !== '1') {
  await import(pathToFileURL(compiled).href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import(pathToFileURL(join(root, 'src', 'main', 'cli.ts')).href)
}
