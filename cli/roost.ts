#!/usr/bin/env node
// The `roost` command. Each subcommand lives in cli/commands/ and is listed in
// cli/commands/index.ts; this file only parses, dispatches, and turns what a
// verb throws into a message and an exit code (cli/errors.ts lists them).
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.ts';
import { exitCodeOf, hintFor } from './errors.ts';
import { RoostError } from '../lib/errors.ts';

const program = new Command('roost')
  .description('Pack many low-frequency serverless functions into a few shared Kubernetes pods.')
  .configureHelp({ sortSubcommands: true });

for (const command of commands()) program.addCommand(command);

// Commander exits on its own by default; instead every command throws, so that
// a usage error gets exit code 2 everywhere. addCommand copies no settings.
(function throwInsteadOfExit(command: Command) {
  command.exitOverride().showHelpAfterError('(run with --help for usage)');
  for (const sub of command.commands) throwInsteadOfExit(sub);
})(program);

// `roost logs ... | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has printed its own message (or the help) already.
  if (!(err instanceof CommanderError)) {
    if (err instanceof RoostError) {
      const hint = hintFor(err);
      console.error(`roost: ${err.message}${hint ? `; ${hint}` : ''} [${err.code}]`);
    } else {
      console.error(`roost: unexpected error: ${(err as Error)?.stack ?? String(err)}`);
    }
  }
  process.exit(exitCodeOf(err));
}
