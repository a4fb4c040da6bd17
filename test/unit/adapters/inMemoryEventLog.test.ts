import { describe, expect, it } from 'vitest'
import { createInMemoryEventLog } from '../../../src/adapters/memory/inMemoryEventLog.js'
import { commitOf, eventLogContract } from '../../support/eventLogContract.js'

eventLogContract('in memory', () => createInMemoryEventLog())

describe('in-memory event log', () => {
  it('answers TooLarge past its max payload', async () => {
    const log = createInMemoryEventLog({ maxPayload: 100 })
    expect((await log.append(commitOf('t', 's', 0, 5), 0))._tag).toBe('TooLarge')
    expect(log.commits()).toHaveLength(0)
  })
})
