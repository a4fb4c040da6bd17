import { describe, expect, it } from 'vitest'
import { keepWatching, type Watch } from '../../../src/adapters/nats/projections/projectionControl.js'

/** A watch fed by hand: `push` an entry, `end` it, or `fail` it. */
const fakeWatch = () => {
  const queue: (number | Error | 'end')[] = []
  let wake: (() => void) | undefined
  let stopped = false
  const put = (x: number | Error | 'end') => {
    queue.push(x)
    wake?.()
  }
  const w: Watch<number> = {
    stop: () => put('end'),
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const x = queue.shift()
        if (x === undefined) {
          await new Promise<void>((r) => (wake = r))
          continue
        }
        if (x === 'end') {
          stopped = true
          return
        }
        if (x instanceof Error) throw x
        yield x
      }
    },
  }
  return { w, push: (n: number) => put(n), end: () => put('end'), fail: (e: Error) => put(e), stopped: () => stopped }
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 2))
  expect(ok()).toBe(true)
}

describe('keepWatching: a watch that ends or fails is reported and opened again', () => {
  it('reopens after a failure and after an unexpected end, reporting each; entries keep flowing', async () => {
    const watches: ReturnType<typeof fakeWatch>[] = []
    const seen: number[] = []
    const errors: string[] = []
    const stop = await keepWatching(
      async () => {
        const f = fakeWatch()
        watches.push(f)
        return f.w
      },
      (n) => seen.push(n),
      { onError: (e) => errors.push(e instanceof Error ? e.message : String(e)), backoffMs: () => 1 },
    )
    watches[0]?.push(1)
    watches[0]?.fail(new Error('heartbeats missed'))
    await until(() => watches.length === 2)
    watches[1]?.push(2)
    watches[1]?.end()
    await until(() => watches.length === 3)
    watches[2]?.push(3)
    await until(() => seen.length === 3)
    stop()
    await until(() => watches[2]?.stopped() === true)
    await new Promise((r) => setTimeout(r, 20))
    expect(seen).toEqual([1, 2, 3])
    expect(errors).toEqual(['heartbeats missed', 'the watch ended'])
    expect(watches.length).toBe(3) // a stopped watch is not reopened
  })

  it('retries a reopen that fails, reporting it; the first open failing rejects', async () => {
    let opens = 0
    const errors: string[] = []
    const watches: ReturnType<typeof fakeWatch>[] = []
    await expect(keepWatching(async () => Promise.reject(new Error('no responders')), () => undefined)).rejects.toThrow('no responders')
    const stop = await keepWatching(
      async () => {
        opens++
        if (opens === 2 || opens === 3) throw new Error(`open ${opens} failed`)
        const f = fakeWatch()
        watches.push(f)
        return f.w
      },
      () => undefined,
      { onError: (e) => errors.push(e instanceof Error ? e.message : String(e)), backoffMs: () => 1 },
    )
    watches[0]?.end()
    await until(() => watches.length === 2)
    expect(errors).toEqual(['the watch ended', 'open 2 failed', 'open 3 failed'])
    stop()
  })

  it('stops quietly when the connection is closed', async () => {
    let closed = false
    const errors: unknown[] = []
    const watches: ReturnType<typeof fakeWatch>[] = []
    await keepWatching(
      async () => {
        const f = fakeWatch()
        watches.push(f)
        return f.w
      },
      () => undefined,
      { onError: (e) => errors.push(e), isClosed: () => closed, backoffMs: () => 1 },
    )
    closed = true
    watches[0]?.end()
    await new Promise((r) => setTimeout(r, 20))
    expect(errors).toEqual([])
    expect(watches.length).toBe(1)
  })
})
