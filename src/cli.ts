#!/usr/bin/env node
/** The package's command line: `loadtest-operator <command>`. Each command registers itself here. */
import { Command, CommanderError } from 'commander';
import { registerLoadTestCommands } from './cli/index.js';
import { registerRunnerCommand } from './runner/cli.js';
import { registerOperatorCommands } from './worker/cli.js';

const program = new Command('loadtest-operator')
  .description('Run HTTP load tests declared as LoadTest resources, orchestrated by Temporal')
  .exitOverride();
registerLoadTestCommands(program);
registerRunnerCommand(program);
registerOperatorCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its one-line message; exit codes come from the command that threw.
  if (error instanceof CommanderError) process.exitCode = error.exitCode;
  else {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
