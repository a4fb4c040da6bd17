import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : []
  })

// `import … from 'x'`, `import 'x'`, `export … from 'x'`, and dynamic `import('x')`.
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3]) as string)

/** Where an import lands, relative to the project root (or the package name). */
const target = (file: string, spec: string): string => (spec.startsWith('.') ? relative(root, resolve(file, '..', spec)) : spec)

const violations = (layer: string, allowed: (to: string) => boolean): string[] =>
  filesUnder(join(root, layer)).flatMap((file) =>
    importsOf(file)
      .map((spec) => target(file, spec))
      .filter((to) => !allowed(to))
      .map((to) => `${relative(root, file)} imports ${to}`),
  )

const isFpOrIoTs = (to: string) => to === 'io-ts' || to.startsWith('io-ts/') || to === 'fp-ts' || to.startsWith('fp-ts/')

describe('layering: dependencies point inward only', () => {
  it('src/domain imports nothing but itself, fp-ts and io-ts', () => {
    expect(violations('src/domain', (to) => to.startsWith('src/domain/') || isFpOrIoTs(to))).toEqual([])
  })

  it('src/application imports only the domain, itself, fp-ts and io-ts (no adapters, NATS, xstate or node)', () => {
    expect(
      violations('src/application', (to) => to.startsWith('src/domain/') || to.startsWith('src/application/') || isFpOrIoTs(to)),
    ).toEqual([])
  })

  it('actors import no adapter, NATS or msgpack code', () => {
    expect(
      violations(
        'actors',
        (to) => !to.startsWith('src/adapters/') && !to.startsWith('src/main/') && !to.startsWith('@nats-io') && to !== 'msgpackr',
      ),
    ).toEqual([])
  })

  it('only src/adapters and src/main (and tests) use @nats-io or msgpackr', () => {
    const outside = [...violations('src/domain', (to) => !to.startsWith('@nats-io') && to !== 'msgpackr'), ...violations('src/application', (to) => !to.startsWith('@nats-io') && to !== 'msgpackr')]
    expect(outside).toEqual([])
  })

  it('finds imports at all (the check cannot pass vacuously)', () => {
    expect(importsOf(join(root, 'src/domain/streams/appendRequest.ts'))).toContain('fp-ts/lib/Either.js')
    expect(violations('src/domain', () => false).length).toBeGreaterThan(5)
  })
})
