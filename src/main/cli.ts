import { Command, CommanderError } from 'commander'
import { registerAdminCommands } from './cli/adminCommands.js'
import { registerAuthCommands } from './cli/authCommands.js'
import { registerDataCommands } from './cli/dataCommands.js'
import { registerAnalyticsCommands } from './cli/analyticsCommands.js'
import { registerLogCommands } from './cli/logCommands.js'
import { registerOpsCommands } from './cli/opsCommands.js'
import { CliError, toJson } from './cli/output.js'
import { registerPipelineCommands } from './cli/pipelineCommands.js'
import { registerProjCommands } from './cli/projCommands.js'
import { registerSubsCommands } from './cli/subsCommands.js'

/** The `allsource` command line (docs/cli.md), on commander. */
export const buildProgram = (): Command => {
  const program = new Command('allsource')
    .description('AllSource: an event store and stream processor on NATS JetStream (docs/cli.md)')
    .option('--url <url>', 'NATS server (env NATS_URL; default 127.0.0.1:4222)')
    .option('--token <token>', 'an API key or access token (env ALLSOURCE_TOKEN)')
    .option('--tenant <tenant>', "the token's tenant (a tenant key or access token), and the tenant of commands that take none (env ALLSOURCE_TENANT)")
    .option('--context <name>', 'use this saved context (env ALLSOURCE_CONTEXT)')
    .option('--json', 'print JSON for scripts (NDJSON for streams of events)')
    .showHelpAfterError()
    .showSuggestionAfterError()
    .exitOverride()
  registerDataCommands(program)
  registerAnalyticsCommands(program)
  registerLogCommands(program)
  registerSubsCommands(program)
  registerProjCommands(program)
  registerPipelineCommands(program)
  registerAdminCommands(program)
  registerAuthCommands(program)
  registerOpsCommands(program)
  // Every subcommand exits through the same handler (usage errors are exit 2).
  const override = (c: Command) => {
    c.exitOverride()
    c.commands.forEach(override)
  }
  override(program)
  return program
}

const main = async (): Promise<void> => {
  const program = buildProgram()
  const json = process.argv.includes('--json')
  try {
    if (process.argv.length <= 2) {
      program.outputHelp()
      return
    }
    await program.parseAsync(process.argv)
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander printed the message and the usage already.
      const done = e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version'
      process.exitCode = done ? 0 : 2
      return
    }
    const err = e instanceof CliError ? e : new CliError(e instanceof Error ? e.message : String(e))
    if (json && err.body !== undefined) process.stdout.write(`${toJson(err.body)}\n`)
    process.stderr.write(`allsource: ${err.message}\n`)
    if (err.exitCode === 2) process.stderr.write('(run `allsource help <command>` for its usage)\n')
    process.exitCode = err.exitCode
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`allsource: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
})
