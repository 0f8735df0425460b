// The files `roost init --runtime nodejs` writes: a handler with AWS Lambda's
// signature, a package.json whose `npm test` runs node:test, and a test that
// calls the handler as the sidecar would.

export function nodejsScaffold(name: string): Record<string, string> {
  return {
    'package.json': `${JSON.stringify(
      {
        name,
        version: '0.1.0',
        private: true,
        type: 'module',
        main: 'index.mjs',
        scripts: { test: 'node --test' },
      },
      null,
      2,
    )}\n`,
    'index.mjs': `// ${name}: a Roost function with AWS Lambda's Node.js signature. Called over
// HTTP, the event is the function-URL event (rawPath, queryStringParameters,
// headers, body); return {statusCode, headers, body}, or any value for a JSON 200.
export const handler = async (event, context) => {
  const name = event.queryStringParameters?.name ?? 'world';
  console.log(\`greeting \${name}\`);
  return { message: \`Hello, \${name}!\`, requestId: context.awsRequestId };
};
`,
    'index.test.mjs': `// Runs with \`npm test\` (node:test): the handler called with the event and
// context the sidecar gives it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handler } from './index.mjs';

const context = {
  awsRequestId: 'test-request-id',
  functionName: '${name}',
  functionVersion: '1',
  memoryLimitInMB: 128,
  getRemainingTimeInMillis: () => 30_000,
};

test('greets the name given in the query string', async () => {
  const result = await handler({ queryStringParameters: { name: 'Roost' } }, context);
  assert.deepEqual(result, { message: 'Hello, Roost!', requestId: 'test-request-id' });
});

test('greets the world when no name is given', async () => {
  const result = await handler({ rawPath: '/' }, context);
  assert.equal(result.message, 'Hello, world!');
});
`,
    'README.md': `# ${name}

A Roost function (Node.js).

\`\`\`sh
npm test                                  # the handler's tests
roost deploy . --name ${name}             # pack this directory and deploy it
roost invoke ${name} --http --path '/?name=you'  # call its URL through the gateway
roost logs ${name}                        # what it printed
\`\`\`
`,
  };
}
