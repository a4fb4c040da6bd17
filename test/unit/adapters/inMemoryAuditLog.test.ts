import { describe } from 'vitest'
import { createInMemoryAuditLog } from '../../../src/adapters/memory/inMemoryAuditLog.js'
import { auditLogContract } from '../../support/auditLogContract.js'

describe('in-memory audit log', () => {
  auditLogContract('in memory', async (options) => {
    const log = createInMemoryAuditLog(options)
    let raw: string[] = []
    return {
      log,
      outage: async () => log.setAvailable(false),
      restore: async () => log.setAvailable(true),
      putRaw: async (json, tenant, action) => {
        log.putRaw(json, tenant, action)
        raw = [...raw, json]
      },
      rawStored: async () => {
        // The in-memory log keeps what it answers; read it back unfiltered.
        const page = await log.query({ _tag: 'All' }, { limit: 1000 })()
        return page._tag === 'Right' ? [...page.right.entries.map((e) => JSON.stringify(e)), ...raw] : raw
      },
    }
  })
})
