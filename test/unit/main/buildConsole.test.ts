import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CONSOLE_FILES, CONSOLE_FINGERPRINT, CONSOLE_OUT, consoleFingerprint, consoleStaleReason } from '../../../scripts/buildConsole.mjs'

describe('scripts/buildConsole.mjs: prestart builds the web console only when console/ changed', () => {
  let root: string
  const built = (): void => {
    mkdirSync(join(root, CONSOLE_OUT), { recursive: true })
    for (const f of CONSOLE_FILES) writeFileSync(join(root, CONSOLE_OUT, f), '\n')
    writeFileSync(join(root, CONSOLE_FINGERPRINT), `${consoleFingerprint(root)}\n`)
  }
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'allsource-console-build-'))
    mkdirSync(join(root, 'console', 'src'), { recursive: true })
    writeFileSync(join(root, 'console', 'src', 'main.tsx'), 'export {}\n')
    writeFileSync(join(root, 'package-lock.json'), '{}\n')
  })
  afterEach(() => rmSync(root, { recursive: true, force: true }))

  it('builds when a built file is missing or a source or the lockfile changed, and not otherwise', () => {
    expect(consoleStaleReason(root)).toBe(`${join(CONSOLE_OUT, 'index.html')} is missing`)
    built()
    expect(consoleStaleReason(root)).toBeUndefined()
    expect(consoleStaleReason(root, true)).toBe('ALLSOURCE_FORCE_BUILD is set')
    writeFileSync(join(root, 'console', 'src', 'page.tsx'), 'export {}\n')
    expect(consoleStaleReason(root)).toBe('console sources changed since the last build')
    built()
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3}\n')
    expect(consoleStaleReason(root)).toBe('console sources changed since the last build')
    built()
    rmSync(join(root, CONSOLE_OUT, 'app.js'))
    expect(consoleStaleReason(root)).toBe(`${join(CONSOLE_OUT, 'app.js')} is missing`)
  })

  it('a package without the console sources never builds it', () => {
    rmSync(join(root, 'console'), { recursive: true })
    expect(consoleStaleReason(root)).toBeUndefined()
  })
})
