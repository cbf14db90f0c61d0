#!/usr/bin/env node
/** The package's command line: `loadtest-operator <command>`. Each command registers itself here. */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { registerRunnerCommand } from './runner/cli.js';

// Installed as kubectl-loadtest too, which kubectl runs for `kubectl loadtest ...`: help should say so.
const asKubectlPlugin = basename(process.argv[1] ?? '') === 'kubectl-loadtest';
const program = new Command(asKubectlPlugin ? 'kubectl loadtest' : 'loadtest-operator')
  .description('Run HTTP load tests declared as LoadTest resources, orchestrated by Temporal')
  .version(packageVersion(), '--version', 'print the version')
  // One line for a mistyped command: commander puts its "(Did you mean ...?)" on a second one.
  .configureOutput({
    outputError: (text, write) => write(`${text.trimEnd().replace(/\n\(Did you mean/, ' (did you mean')}\n`),
  })
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
  // Commander has already printed its one-line message. It exits 1 on an unknown command or option, which this
  // CLI documents as "the load test failed": every parse error is bad input (2); help and --version are 0.
  if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? 0 : 2;
  else {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

/** The version in package.json (next to dist/ when installed, and in the image). */
function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
