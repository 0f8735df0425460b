// Inputs the fuzz targets share: Kubernetes names that must be accepted, and
// text that looks almost like them, which must be refused cleanly.
import fc from 'fast-check';

/** An RFC 1123 label: a namespace, an alias, a tag. */
export const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);

/** An RFC 1123 subdomain: a function's name. */
export const resourceName = fc
  .array(dnsLabel, { minLength: 1, maxLength: 3 })
  .map((labels) => labels.join('.'));

/** Any text, weighted towards the characters parsers split on. */
export const nastyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({
    unit: fc.constantFrom(
      'a',
      'Z',
      '0',
      '9',
      '-',
      '.',
      '@',
      ':',
      '/',
      '?',
      '%',
      '$',
      '#',
      ' ',
      '\u0000',
      'é',
      '\uffff',
      '"',
      '\\',
      '{',
      '[',
    ),
    maxLength: 60,
  }),
  fc.constantFrom(
    '',
    '@',
    '$LATEST',
    '%',
    '%zz',
    '..',
    '-a',
    'a-',
    '0',
    '00',
    '1000000000',
    'arn:aws:lambda',
  ),
);

/**
 * JSON objects that break code converting untrusted values blindly: String()
 * or a template literal on {"toString": 0} throws, and "__proto__" as an own
 * key is what prototype pollution rides on. fast-check draws such keys now
 * and then; these make them common.
 */
export const hostileObject = fc.constantFrom(
  ...[
    '{"toString":0}',
    '{"valueOf":0,"toString":0}',
    '{"valueOf":{}}',
    '{"toJSON":1}',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
  ].map((text) => JSON.parse(text) as object),
);

/** Any JSON value, often one of the hostile objects. */
export const hostileJson = (maxDepth: number) =>
  fc.oneof(fc.jsonValue({ maxDepth }), hostileObject);
