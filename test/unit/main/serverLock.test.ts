import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { judgeLock, readServerLock, releaseServerLock, type ServerLock, writeServerLock } from '../../../src/main/natsServer/serverLock.js'

const lock: ServerLock = { pid: 100, port: 4333, url: 'nats://127.0.0.1:4333', processorPid: 200, startedAt: '2026-12-04T00:00:00.000Z' }
const alive = (pids: number[]) => ({ server: (p: number) => pids.includes(p), processor: (p: number) => pids.includes(p) })

describe('the embedded server lock', () => {
  it('judges a data dir: free, stale lock, orphan (owner gone), in use (owner alive)', () => {
    expect(judgeLock(undefined, alive([]))).toEqual({ _tag: 'Free' })
    expect(judgeLock(lock, alive([200]))).toEqual({ _tag: 'StaleLock', lock })
    expect(judgeLock(lock, alive([100]))).toEqual({ _tag: 'Orphan', lock })
    expect(judgeLock(lock, alive([100, 200]))).toEqual({ _tag: 'InUse', lock })
    // Our own pid in the lock (a pid reused by this very process) is not "in use" by someone else.
    expect(judgeLock(lock, alive([100, 200]), 200)).toEqual({ _tag: 'Orphan', lock })
  })

  it('is written, read back and released only by the server it names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'allsource-lock-'))
    try {
      writeServerLock(dir, lock)
      expect(readServerLock(dir)).toEqual(lock)
      releaseServerLock(dir, 999)
      expect(readServerLock(dir)).toEqual(lock)
      releaseServerLock(dir, 100)
      expect(readServerLock(dir)).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
