/** The commands that drive and watch LoadTests: run, status, list, watch, cancel; and shell completion. */
import type { Command } from 'commander';
import { registerCancelCommand } from './cancel.js';
import { registerCompletionCommand } from './completion.js';
import { registerListCommand } from './list.js';
import { registerRunCommand } from './run.js';
import { registerStatusCommand } from './status.js';
import { registerWatchCommand } from './watch.js';

export { EXIT } from './common.js';

export function registerLoadTestCommands(program: Command): Command {
  registerRunCommand(program);
  registerStatusCommand(program);
  registerListCommand(program);
  registerWatchCommand(program);
  registerCancelCommand(program);
  registerCompletionCommand(program);
  return program;
}
