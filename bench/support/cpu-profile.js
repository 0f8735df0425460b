// @ts-check
// Preloaded into Roost's processes (NODE_OPTIONS="--import <this file>") to
// take a CPU profile of one component over its whole life: Node 24 refuses
// --cpu-prof in NODE_OPTIONS, and a `roost gateway` does not open its
// inspector on SIGUSR1. ROOST_PROFILE names the components (a pattern matched
// against each process's command line: "gateway", "sidecar",
// "gateway|sidecar"); each writes <what matched>-<pid>.cpuprofile into
// ROOST_PROFILE_DIR when it exits. Read one with
// `node bench/support/profile-top.ts <file>`. Plain JavaScript: npm, which
// reads NODE_OPTIONS too, may run on a Node that does not strip types.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const pattern = process.env.ROOST_PROFILE;
const commandLine = process.argv.slice(1).join(' ');
// The benchmark script itself may match the pattern in its own path: skipped.
const matched = pattern ? new RegExp(pattern).exec(commandLine)?.[0] : undefined;
if (matched && !/\bbench\//.test(commandLine)) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 200 µs: fine enough for a request path of tens of microseconds, light enough under load.
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // An in-process session answers synchronously: this runs before the process is gone.
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      const file = join(
        process.env.ROOST_PROFILE_DIR ?? '.',
        `${matched.replace(/\W+/g, '_')}-${process.pid}.cpuprofile`,
      );
      writeFileSync(file, JSON.stringify(result.profile));
    });
  });
}
