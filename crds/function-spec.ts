// The schema of a Sandbox's spec, shared by Sandbox itself and by the templates
// of SandboxReplicaSet and SandboxDeployment so that the three can never drift.
import { array, labelMap, integer, object, string, stringMap, type Schema } from './schema.ts';
import { FUNCTION_DEFAULTS, SANDBOX_DEFAULTS } from '../kube/api/defaults.ts';

/** Largest total size of inline code, in characters. Bigger code belongs in a ConfigMap or a url. */
export const MAX_INLINE_CODE_CHARS = 256 * 1024;

const NODE_HANDLER = String.raw`^([A-Za-z0-9_@-][A-Za-z0-9_.@-]*/)*[A-Za-z0-9_@-][A-Za-z0-9_.@-]*\.[A-Za-z_$][A-Za-z0-9_$]*$`;
const JAVA_IDENTIFIER = String.raw`[A-Za-z_$][A-Za-z0-9_$]*`;
const JAVA_HANDLER = `^${JAVA_IDENTIFIER}(\\.${JAVA_IDENTIFIER})*(::${JAVA_IDENTIFIER})?$`;

const inlineCode = object(
  'Source files given in the resource itself, for small Node.js functions.',
  {
    files: {
      ...stringMap(
        'Files of the function by relative path (such as index.mjs or lib/util.js) to their text.',
        { minProperties: 1, maxProperties: 64 },
      ),
      additionalProperties: { type: 'string', maxLength: MAX_INLINE_CODE_CHARS },
      'x-kubernetes-validations': [
        {
          rule: `self.all(p, size(p) <= 255 && !p.startsWith('/') && !('/' + p + '/').contains('/../') && !('/' + p + '/').contains('/./'))`,
          message: 'file paths must be relative, without . or .. segments, at most 255 characters',
        },
        {
          rule: `self.map(p, size(self[p])).sum() <= ${MAX_INLINE_CODE_CHARS}`,
          message: `inline files must total at most ${MAX_INLINE_CODE_CHARS / 1024} KiB; put larger code in a configMap or behind a url`,
        },
      ],
    },
  },
  { required: ['files'] },
);

const configMapCode = object(
  'An immutable ConfigMap in the Sandbox namespace whose binaryData holds the code: a gzipped tarball (.tgz) for nodejs, a jar for java.',
  {
    name: string('Name of the ConfigMap.', { minLength: 1, maxLength: 253 }),
    key: string('Key in binaryData (or data) that holds the code. Defaults to the only key.', {
      minLength: 1,
      maxLength: 253,
    }),
  },
  { required: ['name'] },
);

const urlCode = object(
  'Code downloaded over HTTP(S): a gzipped tarball for nodejs, a jar for java. It is verified against sha256 before use.',
  {
    url: string('Where to download the code from.', {
      maxLength: 2048,
      pattern: '^https?://[^\\s]+$',
    }),
    sha256: string('Hex SHA-256 digest the downloaded bytes must have (64 lowercase hex digits).', {
      pattern: '^[a-f0-9]{64}$',
    }),
  },
  { required: ['url', 'sha256'] },
);

const code = object(
  'Where the function code comes from: exactly one of inline, configMap or url.',
  { inline: inlineCode, configMap: configMapCode, url: urlCode },
  {
    'x-kubernetes-validations': [
      {
        rule: '[has(self.inline), has(self.configMap), has(self.url)].filter(x, x).size() == 1',
        message: 'exactly one of inline, configMap or url must be set',
      },
    ],
  },
);

const envVar = object(
  'An environment variable of the function process.',
  {
    name: string('Variable name.', { pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 256 }),
    value: string('Variable value.', { maxLength: 32768 }),
  },
  { required: ['name'] },
);

export const functionSpec: Schema = object(
  'The function this Sandbox runs.',
  {
    runtime: string(
      'Language runtime: nodejs (a process per Sandbox) or java (a class loader in the pod JVM).',
      {
        enum: ['nodejs', 'java'],
      },
    ),
    handler: string(
      'Entry point. nodejs: <file>.<export>, such as index.handler. java: <class>::<method>, such as com.example.Hello::handleRequest (the method defaults to handleRequest).',
      { minLength: 1, maxLength: 512 },
    ),
    code,
    env: array('Environment of the function process: this and nothing else.', envVar, {
      maxItems: 128,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
    timeoutSeconds: integer('Longest an invocation may run before it fails as a timeout.', {
      minimum: 1,
      maximum: 900,
      default: FUNCTION_DEFAULTS.timeoutSeconds,
    }),
    memoryMiB: integer(
      'Memory the function may use, in MiB. It is also what the scheduler reserves on a host pod.',
      { minimum: 16, maximum: 10240, default: FUNCTION_DEFAULTS.memoryMiB },
    ),
    cpuMillis: integer('CPU the scheduler reserves on a host pod, in thousandths of a core.', {
      minimum: 1,
      maximum: 64000,
      default: FUNCTION_DEFAULTS.cpuMillis,
    }),
    concurrency: integer(
      'Most invocations in flight at once in this Sandbox; more wait in a short queue.',
      { minimum: 1, maximum: 1000, default: FUNCTION_DEFAULTS.concurrency },
    ),
  },
  {
    required: ['runtime', 'handler', 'code'],
    'x-kubernetes-validations': [
      {
        rule: `self.runtime != 'nodejs' || self.handler.matches(r'${NODE_HANDLER}')`,
        message: 'a nodejs handler must read <file>.<export>, such as index.handler',
        fieldPath: '.handler',
      },
      {
        rule: `self.runtime != 'java' || self.handler.matches(r'${JAVA_HANDLER}')`,
        message:
          'a java handler must read <class>[::<method>], such as com.example.Hello::handleRequest',
        fieldPath: '.handler',
      },
      {
        rule: `self.runtime != 'java' || !has(self.code.inline)`,
        message: 'java code must be a jar from a configMap or a url, not inline files',
        fieldPath: '.code.inline',
      },
    ],
  },
);

/** The Sandbox spec without podName: what a template stamps out. */
export const sandboxTemplateSpecProperties: Record<string, Schema> = {
  function: functionSpec,
  isolation: string(
    'Which host pods may run it, as a nodeSelector would say: Any (the default), or only those whose Node.js function processes get a user id and resource limits of their own (the pod says roost.dev/isolation: strong). Where no pool offers that, the Sandbox stays Pending and says why.',
    { enum: ['Any', 'Strong'] },
  ),
  terminationGracePeriodSeconds: integer(
    'How long in-flight invocations may finish when the Sandbox is deleted.',
    { minimum: 0, maximum: 3600, default: SANDBOX_DEFAULTS.terminationGracePeriodSeconds },
  ),
};

export const templateMetadata = object('Labels and annotations stamped on every Sandbox.', {
  labels: labelMap('Labels of each Sandbox; they must match the selector.'),
  annotations: stringMap('Annotations of each Sandbox.'),
});
