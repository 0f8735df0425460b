// `roost events dead-letters NAME` and `roost events replay NAME`: the events
// of a function that failed for good (after its retries, or too old to run),
// and sending them to the function again. Both go through the gateway's
// internal endpoints (with the invoke token), which read the durable queue.
import { Command } from 'commander';
import { errorMessage } from '../../lib/errors.ts';
import type { DeadLetterJson } from '../../gateway/events-api.ts';
import { DEAD_LETTERS_PATH, REPLAY_PATH } from '../../gateway/events-api.ts';
import { CliContext, type GlobalFlags } from '../context.ts';
import { failure, unreachableError } from '../errors.ts';
import { withClusterOptions, type OutputFormat } from '../options.ts';
import { formatAge, printResult } from '../output.ts';

interface EventsFlags extends GlobalFlags {
  output: OutputFormat;
  id?: string[];
}

export function eventsCommand(): Command {
  return new Command('events')
    .description('Event invocations that failed for good: list them, send them again.')
    .addCommand(deadLettersCommand())
    .addCommand(replayCommand());
}

function deadLettersCommand(): Command {
  const command = new Command('dead-letters')
    .alias('dlq')
    .description(
      "A function's events that failed for good: after their retries, or older than maxEventAgeSeconds.",
    )
    .argument('<name>', 'the function (SandboxDeployment) name');
  return withClusterOptions(command, {
    output: ['table', 'wide', 'json', 'yaml'],
    gateway: true,
    token: true,
  }).action(async (name: string, flags: EventsFlags) => {
    const context = new CliContext(flags);
    try {
      const { deadLetters } = (await call(context, DEAD_LETTERS_PATH, name, 'GET', [])) as {
        deadLetters: DeadLetterJson[];
      };
      printResult(
        flags.output,
        deadLetters,
        (letters, wide) => ({
          headers: [
            'ID',
            'REQUEST ID',
            'REASON',
            'ATTEMPTS',
            'FAILED',
            ...(wide ? ['SOURCE', 'MESSAGE', 'EVENT'] : ['MESSAGE']),
          ],
          rows: letters.map((l) => [
            String(l.sequence),
            l.requestId,
            l.reason,
            String(l.attempts + (l.reason === 'RetriesExhausted' ? 1 : 0)),
            formatAge(l.failedAt),
            ...(wide
              ? [l.source, l.message, JSON.stringify(l.event)]
              : [l.message.length > 60 ? `${l.message.slice(0, 59)}…` : l.message]),
          ]),
        }),
        `No dead letters for ${context.namespace}/${name}`,
      );
    } finally {
      context.close();
    }
  });
}

function replayCommand(): Command {
  const command = new Command('replay')
    .description(
      "Send a function's dead letters to it again (all, or those named by --id), keeping their request ids; they leave the dead letters.",
    )
    .argument('<name>', 'the function (SandboxDeployment) name')
    .option(
      '--id <id>',
      'a dead letter to replay, by its ID or request id (repeatable; default: all)',
      (value: string, previous: string[] = []) => [...previous, value],
    );
  return withClusterOptions(command, { gateway: true, token: true }).action(
    async (name: string, flags: EventsFlags) => {
      const context = new CliContext(flags);
      try {
        const { replayed } = (await call(context, REPLAY_PATH, name, 'POST', flags.id ?? [])) as {
          replayed: DeadLetterJson[];
        };
        for (const letter of replayed)
          process.stdout.write(`replayed ${letter.sequence} (request id ${letter.requestId})\n`);
        process.stderr.write(
          `${replayed.length} event${replayed.length === 1 ? '' : 's'} of ${context.namespace}/${name} sent again\n`,
        );
      } finally {
        context.close();
      }
    },
  );
}

async function call(
  context: CliContext,
  path: string,
  name: string,
  method: 'GET' | 'POST',
  ids: string[],
): Promise<unknown> {
  const gateway = await context.gatewayBase();
  const url = new URL(`${gateway}${path}`);
  url.searchParams.set('namespace', context.namespace);
  url.searchParams.set('name', name);
  for (const id of ids) url.searchParams.append('id', id);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${await context.token()}` },
    });
  } catch (err) {
    throw unreachableError(
      `Cannot reach the gateway at ${gateway}: ${errorMessage(err)}; start a local Roost with \`roost dev\`, or pass --gateway`,
      { cause: err },
    );
  }
  const body = (await response.json().catch(() => ({}))) as {
    error?: { code: string; message: string };
  };
  if (!response.ok)
    throw failure(
      body.error?.code ?? 'ROOST_HTTP_ERROR',
      `The gateway answered ${response.status}: ${body.error?.message ?? response.statusText}`,
    );
  return body;
}
