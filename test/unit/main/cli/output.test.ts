import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { createOutput, fields, table, toJson } from '../../../../src/main/cli/output.js'

/** A stream that keeps what is written; `isTTY` as a terminal would have it. */
const sink = (isTTY: boolean) => {
  let text = ''
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString()
      done()
    },
  }) as Writable & { isTTY?: boolean; columns?: number; cursorTo?: unknown; clearLine?: unknown; moveCursor?: unknown }
  w.isTTY = isTTY
  w.columns = 120
  w.cursorTo = (_x: number, _y?: number, cb?: () => void) => (cb?.(), true)
  w.clearLine = (_d: number, cb?: () => void) => (cb?.(), true)
  w.moveCursor = (_x: number, _y: number, cb?: () => void) => (cb?.(), true)
  return { stream: w as unknown as NodeJS.WriteStream, text: () => text }
}

describe('CLI output', () => {
  const ci = process.env.CI
  afterEach(() => {
    if (ci === undefined) delete process.env.CI
    else process.env.CI = ci
  })

  it('prints one JSON document with --json, and the rendering for people otherwise', () => {
    const out = sink(false)
    createOutput(true, out.stream, sink(false).stream).result({ a: 1, big: 2n ** 64n, bytes: new Uint8Array([1, 2]) }, () => 'unused')
    expect(JSON.parse(out.text())).toEqual({ a: 1, big: '18446744073709551616', bytes: 'AQI=' })
    const human = sink(false)
    createOutput(false, human.stream, sink(false).stream).result({}, () => table(['x', 'y'], [[1, { z: true }]]))
    expect(human.text()).toMatch(/x.*y[\s\S]*1.*\{"z":true\}/)
    expect(fields({ key: 'v', skipped: undefined })).not.toContain('skipped')
    expect(toJson(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"')
  })

  it('draws a progress bar with rate and ETA on a terminal, and nothing when not a terminal or in CI', () => {
    delete process.env.CI
    const err = sink(true)
    const bar = createOutput(false, sink(false).stream, err.stream).progress(10, 'commits')
    bar.update(5)
    bar.stop()
    expect(err.text()).toMatch(/5\/10 commits \| \d+ commits\/s \| ETA/)
    const pipe = sink(false)
    createOutput(false, sink(false).stream, pipe.stream).progress(10, 'commits').update(5)
    expect(pipe.text()).toBe('')
    process.env.CI = 'true'
    const ciErr = sink(true)
    createOutput(false, sink(false).stream, ciErr.stream).progress(10, 'commits').update(5)
    expect(ciErr.text()).toBe('')
  })
})
