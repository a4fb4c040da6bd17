import { describe, expect, it } from 'vitest'
import { abortableSleep } from '../../../src/adapters/system/abortableSleep.js'

describe('abortableSleep', () => {
  it('removes its abort listener when the timer fires, and resolves early on abort', async () => {
    const c = new AbortController()
    let added = 0
    let removed = 0
    const add = c.signal.addEventListener.bind(c.signal)
    const remove = c.signal.removeEventListener.bind(c.signal)
    c.signal.addEventListener = ((...a: Parameters<typeof add>) => (added++, add(...a))) as typeof add
    c.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (removed++, remove(...a))) as typeof remove
    for (let i = 0; i < 20; i++) await abortableSleep(1, c.signal)
    expect(added).toBe(20)
    expect(removed).toBe(20)
    const long = abortableSleep(60_000, c.signal) // the test's timeout fails it unless abort ends it
    c.abort()
    await long
    await abortableSleep(60_000, c.signal) // already aborted: at once
  })
})
