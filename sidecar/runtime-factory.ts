// Chooses how a Sandbox's function runs on this host pod, by its runtime: a
// Node.js process from the warm pool, or a class loader in the pod's JVM bridge.
import { join } from 'node:path';
import type { Runtime, Sandbox } from '../kube/api/roost.ts';
import type { Logger } from '../lib/log.ts';
import type { CodeRef } from './code/code-cache.ts';
import { PlugError } from './errors.ts';
import type { FunctionRuntime, RuntimeHooks } from './function-runtime.ts';
import { JavaFunction } from './java/java-function.ts';
import type { SharedBridge } from './java/shared-bridge.ts';
import { NodeFunction } from './node/node-function.ts';
import type { WarmPool } from './node/process-pool.ts';
import type { TmpWatch } from './node/tmp-watch.ts';
import type { UsageSampler } from './node/usage-sampler.ts';
import type { SandboxIdentity } from './plugged-sandbox.ts';
import { FUNCTION_DEFAULTS } from '../kube/api/defaults.ts';

export interface RuntimeFactoryOptions {
  runtimes: Runtime[];
  pool: WarmPool;
  sampler: UsageSampler;
  tmpWatch?: TmpWatch;
  /** Size of a Node.js function's temporary directory. */
  tmpLimitBytes?: number;
  /** Memory a Node.js process needs beyond its function's memoryMiB (V8, the runtime itself). */
  nodeOverheadMiB: number;
  /** The pod's JVM bridge, when it offers java. */
  javaBridge?: SharedBridge;
  log: Logger;
}

export type RuntimeFactory = (
  sandbox: Sandbox,
  identity: SandboxIdentity,
  code: CodeRef,
  hooks: RuntimeHooks,
) => FunctionRuntime;

export function createRuntimeFactory(options: RuntimeFactoryOptions): RuntimeFactory {
  return (sandbox, identity, code, hooks) => {
    const fn = sandbox.spec.function;
    const key = `${identity.namespace}/${identity.name}`;
    if (!options.runtimes.includes(fn.runtime)) {
      throw new PlugError(
        'RuntimeUnavailable',
        `Sandbox ${key}: this host pod does not offer runtime ${fn.runtime} (it offers ${options.runtimes.join(', ')})`,
        { retryable: false },
      );
    }
    const memoryMiB = fn.memoryMiB ?? FUNCTION_DEFAULTS.memoryMiB;
    const functionEnv = Object.fromEntries((fn.env ?? []).map((e) => [e.name, e.value ?? '']));
    // Lambda's own variables first, so that a function's env can still set them.
    const env = {
      AWS_LAMBDA_FUNCTION_NAME: identity.deployment,
      AWS_LAMBDA_FUNCTION_VERSION: identity.revision,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMiB),
      ...functionEnv,
    };
    if (fn.runtime === 'nodejs') {
      return new NodeFunction({
        key,
        codeDir: code.dir,
        handler: fn.handler,
        env,
        identity: {
          functionName: identity.deployment,
          functionVersion: identity.revision,
          memoryMiB,
        },
        rssLimitBytes: (memoryMiB + options.nodeOverheadMiB) * 1024 * 1024,
        pool: options.pool,
        sampler: options.sampler,
        tmpWatch: options.tmpWatch,
        tmpLimitBytes: options.tmpLimitBytes,
        hooks,
        log: options.log,
      });
    }
    if (fn.runtime === 'java' && options.javaBridge) {
      return new JavaFunction({
        key,
        bridge: options.javaBridge,
        // The code cache keeps a java Sandbox's jar under this name in its digest's directory.
        jarPath: join(code.dir, 'function.jar'),
        handler: fn.handler,
        functionName: identity.deployment,
        functionVersion: identity.revision,
        memoryMiB,
        timeoutMs: (fn.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds) * 1000,
        concurrency: fn.concurrency ?? FUNCTION_DEFAULTS.concurrency,
        env,
        hooks,
        log: options.log,
      });
    }
    throw new PlugError(
      'RuntimeUnavailable',
      `Sandbox ${key}: runtime ${fn.runtime} is not available on this host pod`,
      { retryable: false },
    );
  };
}
