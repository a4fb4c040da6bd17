import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { badRequest, type DomainError } from '../streams/errors.js'
import { defineModule, type EventOf } from '../streams/module.js'

/**
 * Example module: bank accounts, streams `account-<id>`. The balance may never go negative,
 * nothing happens to an account before it is opened or after it is closed.
 */

const PositiveAmount = t.refinement(t.number, (n) => Number.isFinite(n) && n > 0, 'PositiveAmount')

export const accountEvents = {
  AccountOpened: t.type({ owner: t.string }),
  MoneyDeposited: t.type({ amount: PositiveAmount }),
  MoneyWithdrawn: t.type({ amount: PositiveAmount }),
  AccountClosed: t.type({}),
}
export type AccountEvent = EventOf<typeof accountEvents>

export interface AccountState {
  readonly status: 'none' | 'open' | 'closed'
  readonly owner: string
  readonly balance: number
  /** Events that arrived in a state that does not allow them (an invariant rejects them). */
  readonly misplaced: number
}

export const initialAccount: AccountState = { status: 'none', owner: '', balance: 0, misplaced: 0 }

export type AccountCommand =
  | { readonly type: 'Open'; readonly owner: string }
  | { readonly type: 'Deposit'; readonly amount: number }
  | { readonly type: 'Withdraw'; readonly amount: number }
  | { readonly type: 'Close' }

const misplaced = (s: AccountState): AccountState => ({ ...s, misplaced: s.misplaced + 1 })

export const evolveAccount = (s: AccountState, e: AccountEvent): AccountState => {
  switch (e.type) {
    case 'AccountOpened':
      return s.status === 'none' ? { ...s, status: 'open', owner: e.payload.owner } : misplaced(s)
    case 'MoneyDeposited':
      return s.status === 'open' ? { ...s, balance: s.balance + e.payload.amount } : misplaced(s)
    case 'MoneyWithdrawn':
      return s.status === 'open' ? { ...s, balance: s.balance - e.payload.amount } : misplaced(s)
    case 'AccountClosed':
      return s.status === 'open' ? { ...s, status: 'closed' } : misplaced(s)
    default: {
      const never: never = e
      return never
    }
  }
}

export const decideAccount = (c: AccountCommand, s: AccountState): E.Either<DomainError, readonly AccountEvent[]> => {
  switch (c.type) {
    case 'Open':
      if (s.status === 'none') return E.right([{ type: 'AccountOpened', payload: { owner: c.owner } }])
      return s.owner === c.owner ? E.right([]) : E.left(badRequest('account is already open for another owner'))
    case 'Deposit':
      if (s.status !== 'open') return E.left(badRequest('account is not open'))
      return E.right([{ type: 'MoneyDeposited', payload: { amount: c.amount } }])
    case 'Withdraw':
      if (s.status !== 'open') return E.left(badRequest('account is not open'))
      if (c.amount > s.balance) return E.left(badRequest('insufficient funds', { balance: s.balance }))
      return E.right([{ type: 'MoneyWithdrawn', payload: { amount: c.amount } }])
    case 'Close':
      if (s.status === 'closed') return E.right([])
      if (s.status === 'none') return E.left(badRequest('account is not open'))
      return E.right([{ type: 'AccountClosed', payload: {} }])
    default: {
      const never: never = c
      return never
    }
  }
}

export const bankAccountModule = defineModule<AccountState, typeof accountEvents, AccountCommand>({
  category: 'account',
  stateVersion: 1,
  events: accountEvents,
  initialState: initialAccount,
  evolve: evolveAccount,
  invariants: [
    { name: 'balance-not-negative', check: (s) => (s.balance < 0 ? `balance would be ${s.balance}` : undefined) },
    {
      name: 'open-before-use-and-closed-is-final',
      check: (s) => (s.misplaced > 0 ? 'account must be opened first and takes nothing after it is closed' : undefined),
    },
  ],
  decide: decideAccount,
})
