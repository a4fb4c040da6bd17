import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ENTRY, FINGERPRINT_FILE, fingerprint, staleReason } from '../../../scripts/buildIfStale.mjs'

describe('scripts/buildIfStale.mjs: prestart compiles only when the inputs changed', () => {
  let root: string
  const built = (): void => writeFileSync(join(root, FINGERPRINT_FILE), `${fingerprint(root)}\n`)
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'allsource-build-'))
    mkdirSync(join(root, 'src', 'main'), { recursive: true })
    mkdirSync(join(root, 'actors'), { recursive: true })
    mkdirSync(join(root, 'dist', 'src', 'main'), { recursive: true })
    writeFileSync(join(root, 'src', 'main', 'start.ts'), 'export {}\n')
    writeFileSync(join(root, 'actors', 'a.ts'), 'export {}\n')
    writeFileSync(join(root, 'package.json'), '{}\n')
    writeFileSync(join(root, ENTRY), '\n')
  })
  afterEach(() => rmSync(root, { recursive: true, force: true }))

  it('builds a fresh checkout, then skips until a source is changed, added, touched or deleted', () => {
    expect(staleReason(root)).toBe('no record of the last build')
    built()
    expect(staleReason(root)).toBeUndefined()
    expect(staleReason(root, true)).toBe('ALLSOURCE_FORCE_BUILD is set')

    writeFileSync(join(root, 'src', 'main', 'start.ts'), 'export const x = 1\n')
    expect(staleReason(root)).toBe('sources changed since the last build')
    built()
    const later = new Date(Date.now() + 60_000)
    utimesSync(join(root, 'actors', 'a.ts'), later, later)
    expect(staleReason(root)).toBe('sources changed since the last build')
    built()
    writeFileSync(join(root, 'src', 'new.ts'), 'export {}\n')
    expect(staleReason(root)).toBe('sources changed since the last build')
    built()
    unlinkSync(join(root, 'src', 'new.ts'))
    expect(staleReason(root)).toBe('sources changed since the last build')
    built()
    writeFileSync(join(root, 'package.json'), '{"x":1}\n')
    expect(staleReason(root)).toBe('sources changed since the last build')
  })

  it('builds when the compiled entry point is gone, whatever the record says', () => {
    built()
    unlinkSync(join(root, ENTRY))
    expect(staleReason(root)).toBe(`${ENTRY} is missing`)
  })
})
