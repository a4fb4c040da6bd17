import { errors } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { retryStartup } from '../../../src/main/retryStartup.js'

describe('retryStartup', () => {
  it('runs a step again while it fails as JetStream does in an election (timeout, no responders), logging each failure', async () => {
    const failures = [new errors.TimeoutError(), new errors.NoRespondersError('$JS.API.STREAM.INFO.ALLSOURCE_EVENTS')]
    const lines: string[] = []
    let calls = 0
    const r = await retryStartup(
      'starting ingest',
      async () => {
        calls++
        const e = failures.shift()
        if (e !== undefined) throw e
        return 'started'
      },
      (m) => lines.push(m),
    )
    expect(r).toBe('started')
    expect(calls).toBe(3)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^warning: starting ingest: .*trying again in 250 ms$/)
  })

  it('rejects at once on any other failure, and once the deadline has passed', async () => {
    let calls = 0
    const defect = retryStartup('serving', () => {
      calls++
      return Promise.reject(new TypeError('a bug'))
    }, () => undefined)
    await expect(defect).rejects.toThrow('a bug')
    expect(calls).toBe(1)
    await expect(retryStartup('serving', () => Promise.reject(new errors.TimeoutError()), () => undefined, 0)).rejects.toThrow(errors.TimeoutError)
  })
})
