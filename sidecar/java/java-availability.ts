// Whether this host pod can offer the java runtime: a java launcher and the
// bridge jar must both be there. The sidecar's --runtimes default follows it,
// so a pod image without Java offers nodejs alone instead of failing to start.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { defaultBridgeJar } from './bridge-process.ts';

export interface JavaAvailability {
  available: boolean;
  /** What was found, or what is missing: for the sidecar's start-up log line. */
  reason: string;
}

/** The java launcher the bridge would be started with ($JAVA_HOME/bin/java, else java on PATH), if it exists. */
export function findJavaLauncher(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.JAVA_HOME) {
    const launcher = join(env.JAVA_HOME, 'bin', 'java');
    return isExecutable(launcher) ? launcher : undefined;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const launcher = join(dir, 'java');
    if (isExecutable(launcher)) return launcher;
  }
  return undefined;
}

export function javaAvailability(env: NodeJS.ProcessEnv = process.env): JavaAvailability {
  const launcher = findJavaLauncher(env);
  if (!launcher)
    return {
      available: false,
      reason: env.JAVA_HOME
        ? `no java launcher at $JAVA_HOME/bin/java (${env.JAVA_HOME})`
        : 'no java launcher on PATH and JAVA_HOME is not set',
    };
  const jar = defaultBridgeJar(env);
  if (!existsSync(jar))
    return {
      available: false,
      reason: `the bridge jar ${jar} is missing (npm run build:java, or set ROOST_JAVA_BRIDGE_JAR)`,
    };
  return { available: true, reason: `java at ${launcher}, bridge jar ${jar}` };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
