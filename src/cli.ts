#!/usr/bin/env node
/** The package's command line: `loadtest-operator <command>`. Each command registers itself here. */
import { Command, CommanderError } from 'commander';
import { basename } from 'node:path';
import { registerRunnerCommand } from './runner/cli.js';

// Installed as kubectl-loadtest too, which kubectl runs for `kubectl loadtest ...`: help should say so.
const asKubectlPlugin = basename(process.argv[1] ?? '') === 'kubectl-loadtest';
const program = new Command(asKubectlPlugin ? 'kubectl loadtest' : 'loadtest-operator')
  .description('Run HTTP load tests declared as LoadTest resources, orchestrated by Temporal')
  .exitOverride();
if (process.argv[2] === 'runner') {
  // Every runner pod starts this binary: load only the runner, not the Temporal and Kubernetes clients the
  // other commands need (about a second of CPU at start-up).
  registerRunnerCommand(program);
} else {
  const [{ registerLoadTestCommands }, { registerOperatorCommands }] = await Promise.all([
    import('./cli/index.js'),
    import('./operator/commands.js'),
  ]);
  registerLoadTestCommands(program);
  registerRunnerCommand(program);
  registerOperatorCommands(program);
}

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
