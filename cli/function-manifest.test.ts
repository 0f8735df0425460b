import { expect, test } from 'vitest';
import type { CodePackage } from './code-package.ts';
import {
  codeConfigMapName,
  makeCodeConfigMap,
  makeSandboxDeployment,
  type FunctionSettings,
} from './function-manifest.ts';

const settings: FunctionSettings = {
  name: 'hello',
  namespace: 'team-a',
  runtime: 'nodejs',
  handler: 'index.handler',
  configMap: { name: 'hello-code-0123456789', key: 'code.tgz' },
  env: [['GREETING', 'hi']],
};

test('the code ConfigMap is immutable, binary, named by its digest and labelled with its function', () => {
  const pkg = {
    bytes: Buffer.from('tgz'),
    key: 'code.tgz',
    sha256: 'ab'.repeat(32),
  } as CodePackage;
  const map = makeCodeConfigMap('hello', 'team-a', pkg);
  expect(map.metadata.name).toBe(codeConfigMapName('hello', pkg.sha256));
  expect(map.metadata.name).toBe('hello-code-ababababab');
  expect(map.immutable).toBe(true);
  expect(map.binaryData).toEqual({ 'code.tgz': Buffer.from('tgz').toString('base64') });
  expect(map.metadata.labels?.['roost.dev/deployment']).toBe('hello');
  expect(map.metadata.annotations?.['roost.dev/code-sha256']).toBe(pkg.sha256);
});

test('without autoscaling the deploy declares the replicas (default 1) and only the flags given', () => {
  const d = makeSandboxDeployment(settings);
  expect(d.spec.replicas).toBe(1);
  expect(d.spec.autoscaling).toBeUndefined();
  expect(d.spec.template.spec.function).toEqual({
    runtime: 'nodejs',
    handler: 'index.handler',
    code: { configMap: { name: 'hello-code-0123456789', key: 'code.tgz' } },
    env: [{ name: 'GREETING', value: 'hi' }],
  });
});

test('with autoscaling the deploy leaves replicas to the autoscaler', () => {
  const d = makeSandboxDeployment({
    ...settings,
    replicas: 3,
    autoscaling: { minReplicas: 0, maxReplicas: 4 },
  });
  expect('replicas' in d.spec).toBe(false);
  expect(d.spec.autoscaling).toEqual({ minReplicas: 0, maxReplicas: 4 });
});
