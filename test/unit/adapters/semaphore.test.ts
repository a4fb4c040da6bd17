import { describe, expect, it } from 'vitest'
import { semaphore } from '../../../src/adapters/system/semaphore.js'

describe('semaphore', () => {
  it('hands a freed slot to the first waiter, and a release counts once', async () => {
    const s = semaphore(1)
    const first = await s.acquire(0, () => new Error('full'))
    const order: string[] = []
    const a = s.acquire(1_000, () => new Error('full')).then((r) => (order.push('a'), r))
    const b = s.acquire(1_000, () => new Error('full')).then((r) => (order.push('b'), r))
    first()
    first() // a second call frees nothing more
    const ra = await a
    expect(order).toEqual(['a'])
    expect(s.inUse).toBe(1)
    ra()
    ;(await b)()
    expect(order).toEqual(['a', 'b'])
    expect(s.inUse).toBe(0)
  })

  it('a waiter gives up with the caller’s error, and leaves the queue', async () => {
    const s = semaphore(1)
    const held = await s.acquire(0, () => new Error('full'))
    await expect(s.acquire(10, () => new Error('no slot in 10 ms'))).rejects.toThrow('no slot in 10 ms')
    held()
    expect(s.inUse).toBe(0)
    const again = await s.acquire(0, () => new Error('full'))
    expect(s.inUse).toBe(1)
    again()
  })
})
