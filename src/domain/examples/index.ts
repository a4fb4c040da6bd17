export {
  bankAccountModule,
  accountEvents,
  initialAccount,
  evolveAccount,
  decideAccount,
} from './bankAccount.js'
export type { AccountEvent, AccountState, AccountCommand } from './bankAccount.js'
