// Waiting for a server the testenv started (nats-server, rabbitmq-server) to
// say it is ready: its ready line, or an error naming how it exited (with the
// end of its stderr), or one saying it took too long. The caller stops it on
// failure.
import type { ManagedProcess } from '../lib/process.ts';

export async function awaitReady(
  child: ManagedProcess,
  ready: Promise<void>,
  options: { name: string; timeoutMs: number; error: (message: string) => Error },
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const exited = child.exited.then((exit) => {
    throw options.error(
      `${options.name} exited (${exit.code ?? exit.signal}) before it was ready:\n${child.stderrTail.join('\n')}`,
    );
  });
  // Once ready, a later exit is the caller's to notice, not an unhandled rejection.
  exited.catch(() => {});
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(options.error(`${options.name} was not ready within ${options.timeoutMs / 1000} s`)),
      options.timeoutMs,
    );
    timer.unref();
  });
  try {
    await Promise.race([ready, exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
