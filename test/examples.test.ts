// The examples' manifests carry their code inline for `kubectl apply`; the
// same code sits beside them as a file for `roost deploy` and for editors.
// The two must never drift apart.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import type { SandboxDeployment } from '../kube/api/roost.ts';

const EXAMPLES = join(import.meta.dirname, '..', 'examples');

function manifestOf(example: string): SandboxDeployment {
  return parse(
    readFileSync(join(EXAMPLES, example, 'deployment.yaml'), 'utf8'),
  ) as SandboxDeployment;
}

const inlineExamples = readdirSync(EXAMPLES).filter(
  (name) =>
    existsSync(join(EXAMPLES, name, 'deployment.yaml')) &&
    !existsSync(join(EXAMPLES, name, 'pom.xml')),
);

describe('examples', () => {
  test('there are Node hello, HTTP, CloudEvents, Java and queue-trigger examples', () => {
    expect(readdirSync(EXAMPLES).sort()).toEqual([
      'cloudevents',
      'hello',
      'http-api',
      'java-hello',
      'queue-triggers',
    ]);
  });

  test.each(inlineExamples)(
    '%s: the inline code of deployment.yaml is its source files, byte for byte',
    (example) => {
      const files = manifestOf(example).spec.template.spec.function.code.inline?.files ?? {};
      expect(Object.keys(files).length).toBeGreaterThan(0);
      for (const [path, text] of Object.entries(files))
        expect(text, `${example}/${path}`).toBe(
          readFileSync(join(EXAMPLES, example, path), 'utf8'),
        );
    },
  );

  test('java-hello: the manifest names the jar key roost deploy and kubectl create configmap use, and a handler class that exists', () => {
    const fn = manifestOf('java-hello').spec.template.spec.function;
    expect(fn.runtime).toBe('java');
    expect(fn.code.configMap).toEqual({ name: 'java-hello-code', key: 'function.jar' });
    const [className, method] = fn.handler.split('::') as [string, string];
    const source = readFileSync(
      join(EXAMPLES, 'java-hello', 'src', 'main', 'java', ...className.split('.')) + '.java',
      'utf8',
    );
    expect(source).toContain(`public Map<String, Object> ${method}(`);
    expect(readFileSync(join(EXAMPLES, 'java-hello', 'README.md'), 'utf8')).toContain(
      'kubectl create configmap java-hello-code \\\n  --from-file=function.jar=examples/java-hello/target/java-hello.jar',
    );
  });
});
