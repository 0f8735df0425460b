import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { curlLines, EXAMPLES_DIR } from './examples.ts';

test('curl comments become one-line commands, continuations joined', () => {
  const text = `# Deploy me\n# curl 'http://h/fn/a'\n# curl -X POST \\\n#   -d '{}' \\\n#   http://h/fn/b\napiVersion: v1\n`;
  expect(curlLines(text)).toEqual([`curl 'http://h/fn/a'`, `curl -X POST -d '{}' http://h/fn/b`]);
});

test('every example manifest offers something to try', () => {
  for (const example of ['hello', 'http-api', 'cloudevents', 'java-hello']) {
    const lines = curlLines(readFileSync(join(EXAMPLES_DIR, example, 'deployment.yaml'), 'utf8'));
    expect(lines.length, example).toBeGreaterThan(0);
    for (const line of lines)
      expect(line, example).toMatch(/^curl .*http:\/\/127\.0\.0\.1:8080\/fn\/default\//);
  }
});
