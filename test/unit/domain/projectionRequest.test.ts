import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { backoffMs, firstPointer, rebuildWanted, rebuiltPointer } from '../../../src/domain/projections/operations.js'
import { checkRebuildOffset, validateProjectionCommand, validateProjectionRequest } from '../../../src/domain/projections/projectionRequest.js'

const tagOf = <A>(r: E.Either<{ _tag: string }, A>) => (E.isLeft(r) ? r.left._tag : 'Right')

describe('projection requests', () => {
  it('reads an empty body as status, { key } as a get, { keys: true } as a page', () => {
    expect(validateProjectionRequest(undefined)).toEqual(E.right({ _tag: 'Status' }))
    expect(validateProjectionRequest({})).toEqual(E.right({ _tag: 'Status' }))
    expect(validateProjectionRequest({ key: 'user.created' })).toEqual(E.right({ _tag: 'Get', key: 'user.created', timeoutMs: 5_000 }))
    expect(validateProjectionRequest({ key: 'k', minOffset: 7, timeoutMs: 0 })).toEqual(E.right({ _tag: 'Get', key: 'k', minOffset: 7, timeoutMs: 0 }))
    expect(validateProjectionRequest({ keys: true })).toEqual(E.right({ _tag: 'Keys', limit: 100 }))
    expect(validateProjectionRequest({ keys: true, after: 'a', limit: 1_000 })).toEqual(E.right({ _tag: 'Keys', after: 'a', limit: 1_000 }))
  })

  it('refuses bad keys, limits, offsets and timeouts with typed errors', () => {
    expect(tagOf(validateProjectionRequest({ key: 'a b' }))).toBe('InvalidId')
    expect(tagOf(validateProjectionRequest({ key: '.a' }))).toBe('InvalidId')
    expect(tagOf(validateProjectionRequest({ key: 'a..b' }))).toBe('InvalidId')
    expect(tagOf(validateProjectionRequest({ key: 'x'.repeat(256) }))).toBe('InvalidId')
    expect(tagOf(validateProjectionRequest({ key: 3 }))).toBe('InvalidId')
    expect(tagOf(validateProjectionRequest({ keys: true, after: 'a b' }))).toBe('InvalidId')
    expect(tagOf(validateProjectionRequest({ keys: 'yes' }))).toBe('BadRequest')
    expect(tagOf(validateProjectionRequest({ keys: true, limit: 1_001 }))).toBe('BadRequest')
    expect(tagOf(validateProjectionRequest({ keys: true, limit: 0 }))).toBe('BadRequest')
    expect(tagOf(validateProjectionRequest({ key: 'k', minOffset: -1 }))).toBe('BadRequest')
    expect(tagOf(validateProjectionRequest({ key: 'k', minOffset: 1.5 }))).toBe('BadRequest')
    expect(tagOf(validateProjectionRequest({ key: 'k', timeoutMs: 60_001 }))).toBe('BadRequest')
    expect(tagOf(validateProjectionRequest({ other: 1 }))).toBe('BadRequest')
    expect(tagOf(validateProjectionRequest('key'))).toBe('BadRequest')
    expect(tagOf(validateProjectionRequest([]))).toBe('BadRequest')
  })

  it('validates commands; a rebuild may start anywhere up to one past the end of the log', () => {
    expect(validateProjectionCommand('pause', undefined)).toEqual(E.right({ _tag: 'Pause' }))
    expect(validateProjectionCommand('resume', undefined)).toEqual(E.right({ _tag: 'Resume' }))
    expect(validateProjectionCommand('status', undefined)).toEqual(E.right({ _tag: 'Status' }))
    expect(validateProjectionCommand('rebuild', undefined)).toEqual(E.right({ _tag: 'Rebuild', fromOffset: 0 }))
    expect(validateProjectionCommand('rebuild', { fromOffset: 11 })).toEqual(E.right({ _tag: 'Rebuild', fromOffset: 11 }))
    expect(checkRebuildOffset(11, 10)).toEqual(E.right(11))
    expect(tagOf(checkRebuildOffset(12, 10))).toBe('BadRequest')
    expect(tagOf(validateProjectionCommand('rebuild', { fromOffset: -1 }))).toBe('BadRequest')
    expect(tagOf(validateProjectionCommand('rebuild', { fromOffset: '3' }))).toBe('BadRequest')
    expect(tagOf(validateProjectionCommand('drop', undefined))).toBe('BadRequest')
  })
})

describe('projection operations (pure)', () => {
  it('wants a rebuild for a new request or a new version, and not for one already done', () => {
    const p = firstPointer(1)
    expect(rebuildWanted(1, p, { paused: false, retry: 0 })).toBeUndefined()
    expect(rebuildWanted(1, p, { paused: false, retry: 0, rebuild: { id: 'r', fromOffset: 5 } })).toEqual({ id: 'r', fromOffset: 5 })
    expect(rebuildWanted(2, p, { paused: false, retry: 0 })).toEqual({ id: 'version-2', fromOffset: 1 })
    const done = rebuiltPointer(1, p, { id: 'r', fromOffset: 5 })
    expect(done).toEqual({ version: 1, generation: 2, fromOffset: 5, rebuildId: 'r' })
    expect(rebuildWanted(1, done, { paused: false, retry: 0, rebuild: { id: 'r', fromOffset: 5 } })).toBeUndefined()
    expect(rebuiltPointer(1, p, { id: 'r', fromOffset: 0 }).fromOffset).toBe(1)
    expect(rebuildWanted(1, { ...p, version: 2 }, { paused: false, retry: 0, rebuild: { id: 'r', fromOffset: 0 } })).toBeUndefined()
  })

  it('backs off from 250 ms, doubling, to at most 30 s', () => {
    expect([0, 1, 2, 3, 7, 8, 50].map(backoffMs)).toEqual([250, 500, 1_000, 2_000, 30_000, 30_000, 30_000])
  })
})
