import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  bankAccountModule,
  decideAccount,
  evolveAccount,
  initialAccount,
} from '../../../src/domain/examples/bankAccount.js'
import { applyEvents } from '../../../src/domain/streams/module.js'
import { numberEvents } from '../../../src/domain/streams/numberEvents.js'
import type { EventId } from '../../../src/domain/streams/ids.js'
import type { ProposedEvent, RecordedEvent } from '../../../src/domain/streams/event.js'

/** Given past events, when a command is decided, then these events (or this error). */
const given = (history: readonly AccountEvent[]) => {
  const state = history.reduce<AccountState>(evolveAccount, initialAccount)
  return { when: (command: AccountCommand) => ({ then: () => decideAccount(command, state) }) }
}

let n = 0
const recorded = (events: readonly { type: string; payload: unknown }[], from = 0): RecordedEvent[] =>
  numberEvents(events as readonly ProposedEvent[], from, new Date(0), () => `e-${++n}` as EventId)

const opened: AccountEvent = { type: 'AccountOpened', payload: { owner: 'ann' } }
const deposited = (amount: number): AccountEvent => ({ type: 'MoneyDeposited', payload: { amount } })

describe('bank account decider', () => {
  it('given nothing, when Open, then AccountOpened', () => {
    expect(given([]).when({ type: 'Open', owner: 'ann' }).then()).toEqual(E.right([opened]))
  })

  it('given an open account, when Open for the same owner again, then nothing (already applied)', () => {
    expect(given([opened]).when({ type: 'Open', owner: 'ann' }).then()).toEqual(E.right([]))
  })

  it('given an open account, when Open for another owner, then refused', () => {
    expect(E.isLeft(given([opened]).when({ type: 'Open', owner: 'bob' }).then())).toBe(true)
  })

  it('given a balance of 10, when Withdraw 20, then refused with the balance', () => {
    const r = given([opened, deposited(10)]).when({ type: 'Withdraw', amount: 20 }).then()
    expect(r).toEqual(E.left({ _tag: 'BadRequest', message: 'insufficient funds', details: { balance: 10 } }))
  })

  it('given a balance of 10, when Withdraw 10, then MoneyWithdrawn', () => {
    expect(given([opened, deposited(10)]).when({ type: 'Withdraw', amount: 10 }).then()).toEqual(
      E.right([{ type: 'MoneyWithdrawn', payload: { amount: 10 } }]),
    )
  })

  it('given nothing, when Deposit, then refused: the account is not open', () => {
    expect(E.isLeft(given([]).when({ type: 'Deposit', amount: 5 }).then())).toBe(true)
  })

  it('given a closed account, when Close again, then nothing (already applied)', () => {
    expect(given([opened, { type: 'AccountClosed', payload: {} }]).when({ type: 'Close' }).then()).toEqual(E.right([]))
  })
})

describe('bank account module: codecs and invariants on append', () => {
  const open = applyEvents(bankAccountModule, bankAccountModule.initialState, recorded([opened, deposited(10)]))

  it('given a fresh stream, when opened and funded, then the folded state has the balance', () => {
    expect(open).toEqual(E.right({ status: 'open', owner: 'ann', balance: 10, misplaced: 0 }))
  })

  it('when a payload breaks its codec, then VALIDATION_FAILED with the path', () => {
    const r = applyEvents(bankAccountModule, E.isRight(open) ? open.right : undefined, recorded([{ type: 'MoneyDeposited', payload: { amount: 'lots' } }], 2))
    expect(r).toMatchObject(E.left({ _tag: 'ValidationFailed', failures: [{ path: 'events[0].payload.amount' }] }))
  })

  it('when an event type is unknown to the category, then VALIDATION_FAILED', () => {
    const r = applyEvents(bankAccountModule, initialAccount, recorded([{ type: 'Teleported', payload: {} }]))
    expect(r).toMatchObject(E.left({ _tag: 'ValidationFailed', failures: [{ path: 'events[0].type' }] }))
  })

  it('when a withdrawal would overdraw, then VALIDATION_FAILED naming the invariant, and the state is untouched', () => {
    const before = E.isRight(open) ? open.right : undefined
    const r = applyEvents(bankAccountModule, before, recorded([{ type: 'MoneyWithdrawn', payload: { amount: 11 } }], 2))
    expect(r).toEqual(
      E.left({
        _tag: 'ValidationFailed',
        message: 'events[0] (MoneyWithdrawn) breaks balance-not-negative',
        failures: [{ path: 'events[0]:invariant:balance-not-negative', message: 'balance would be -1' }],
      }),
    )
    expect(before).toEqual({ status: 'open', owner: 'ann', balance: 10, misplaced: 0 })
  })

  it('when a deposit comes before the account is opened, then VALIDATION_FAILED', () => {
    const r = applyEvents(bankAccountModule, initialAccount, recorded([deposited(5)]))
    expect(r).toMatchObject(E.left({ _tag: 'ValidationFailed', failures: [{ path: 'events[0]:invariant:open-before-use-and-closed-is-final' }] }))
  })

  it('checks invariants after every event: a commit may not pass through a negative balance', () => {
    const r = applyEvents(bankAccountModule, E.isRight(open) ? open.right : undefined, recorded([{ type: 'MoneyWithdrawn', payload: { amount: 15 } }, deposited(10)], 2))
    expect(E.isLeft(r)).toBe(true)
  })
})
