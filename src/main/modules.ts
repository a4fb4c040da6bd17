import { bankAccountModule } from '../domain/examples/bankAccount.js'
import type { StreamModule } from '../domain/streams/module.js'

/**
 * The domain modules this deployment runs with: `npm start` and the CLI (snapshots, state as of)
 * both take them from here. Add your own modules to this list.
 */
export const registeredModules = (options: { readonly exampleModules: boolean }): StreamModule[] =>
  options.exampleModules ? [bankAccountModule] : []
