import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import * as t from 'io-ts'
import { describe, expect, it } from 'vitest'
import { bankAccountModule, initialAccount } from '../../../src/domain/examples/bankAccount.js'
import { categoryOf, type EventId } from '../../../src/domain/streams/ids.js'
import { applyEvents, defineModule, moduleRegistry } from '../../../src/domain/streams/module.js'
import { numberEvents } from '../../../src/domain/streams/numberEvents.js'

describe('modules', () => {
  it('takes the category from the stream id up to the first dash', () => {
    expect(categoryOf('account-1-2')).toBe('account')
    expect(categoryOf('plain')).toBe('plain')
    expect(categoryOf('-x')).toBe('')
  })

  it('refuses two modules for one category', () => {
    expect(() => moduleRegistry([bankAccountModule, bankAccountModule])).toThrow(/two modules/)
  })

  it('numbers events after the current version with one shared timestamp', () => {
    const at = new Date(1_000)
    let i = 0
    const events = numberEvents(
      [
        { type: 'a', payload: 1 },
        { type: 'b', payload: 2, id: 'mine' as EventId, metadata: { m: 1 } },
      ] as never,
      4,
      at,
      () => `gen-${++i}` as EventId,
    )
    expect(events).toEqual([
      { id: 'gen-1', type: 'a', version: 5, timestamp: at, payload: 1 },
      { id: 'mine', type: 'b', version: 6, timestamp: at, payload: 2, metadata: { m: 1 } },
    ])
  })

  it('a module with no invariants folds whatever its codecs accept', () => {
    const counter = defineModule({
      category: 'counter',
      stateVersion: 1,
      events: { Added: t.type({ by: t.number }) },
      initialState: 0,
      evolve: (s: number, e) => s + e.payload.by,
    })
    const r = applyEvents(counter, 0, numberEvents([{ type: 'Added', payload: { by: 2 } }] as never, 0, new Date(0), () => 'x' as EventId))
    expect(r).toEqual(E.right(2))
  })

  it('property: applying random deposits and withdrawals equals a reference fold, and a Right never has a negative balance', () => {
    const op = fc.oneof(
      fc.record({ type: fc.constant('MoneyDeposited' as const), amount: fc.integer({ min: 1, max: 50 }) }),
      fc.record({ type: fc.constant('MoneyWithdrawn' as const), amount: fc.integer({ min: 1, max: 50 }) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const proposed = [
          { type: 'AccountOpened', payload: { owner: 'ann' } },
          ...ops.map((o) => ({ type: o.type, payload: { amount: o.amount } })),
        ]
        const r = applyEvents(bankAccountModule, initialAccount, numberEvents(proposed as never, 0, new Date(0), () => 'id' as EventId))
        let balance = 0
        let everNegative = false
        for (const o of ops) {
          balance += o.type === 'MoneyDeposited' ? o.amount : -o.amount
          if (balance < 0) everNegative = true
        }
        if (everNegative) return E.isLeft(r) && r.left._tag === 'ValidationFailed'
        return E.isRight(r) && (r.right as { balance: number }).balance === balance && balance >= 0
      }),
    )
  })
})
