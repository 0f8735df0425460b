// Builds the JVM bridge and the Java functions (Maven) when their jar is
// missing or older than their sources, so that `npm test` and `roost dev`
// work on a fresh clone without a separate build step. Machines without Java
// or Maven are told what is missing; Node-only use does not need them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RoostError } from '../lib/errors.ts';
import { formatDuration } from '../lib/duration.ts';
import { defaultBridgeJar } from '../sidecar/java/bridge-process.ts';

const PROJECT = join(import.meta.dirname, '..', 'runtime-java-bridge');

export class JavaBuildError extends RoostError {
  constructor(message: string) {
    super('ROOST_JAVA_BUILD', message);
  }
}

/** Whether `java` and `mvn` can be run here. */
export function javaToolsPresent(): { java: boolean; maven: boolean } {
  const works = (command: string) =>
    spawnSync(command, ['-version'], { stdio: 'ignore' }).status === 0;
  return { java: works('java'), maven: works('mvn') };
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'target' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when the bridge jar exists and is newer than every Java source and pom. */
export function javaBuildIsCurrent(): boolean {
  const jar = defaultBridgeJar();
  return existsSync(jar) && statSync(jar).mtimeMs >= newestSource(PROJECT);
}

/** Runs `mvn package` if the build is missing or stale; returns false (with a note) when Maven is absent. */
export async function ensureJavaBuild(
  progress: (line: string) => void = (l) => console.error(l),
): Promise<boolean> {
  if (javaBuildIsCurrent()) return true;
  if (!javaToolsPresent().maven) {
    progress(
      'Maven is not installed: skipping the Java bridge build (Java functions will not run).',
    );
    return false;
  }
  progress(
    'Building the JVM bridge and the Java functions with Maven (about 20 s; the first time also downloads dependencies) ...',
  );
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const tail: string[] = [];
    const child = spawn('mvn', ['-B', '-q', '-f', join(PROJECT, 'pom.xml'), 'package'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      tail.push(...chunk.toString().split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 30));
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const heartbeat = setInterval(
      () => progress(`  Maven still building (${formatDuration(Date.now() - started)})`),
      15_000,
    );
    child.on('error', (err) => {
      clearInterval(heartbeat);
      reject(new JavaBuildError(`Cannot run mvn: ${err.message}`));
    });
    child.on('exit', (code) => {
      clearInterval(heartbeat);
      if (code === 0) resolve();
      else reject(new JavaBuildError(`mvn package failed (exit ${code}):\n${tail.join('\n')}`));
    });
  });
  progress(`Java build done in ${formatDuration(Date.now() - started)}.`);
  return true;
}
