// Fuzz: the gateway's parsers of what a client names: the route of an HTTP
// request (/fn/<namespace>/<name>[@<qualifier>]/...), the Invoke API's
// FunctionName, an alias or tag resolved against SandboxRoutes, and the depth
// of a JSON text. Each returns or refuses with the gateway's own error and a
// 4xx, never anything else; what it accepts it reads back exactly.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import type { SandboxDeployment, SandboxRoute } from '../../kube/api/roost.ts';
import { GatewayError } from '../../gateway/errors.ts';
import { FunctionEntry, type FunctionTable } from '../../gateway/function-table.ts';
import { jsonDepth } from '../../gateway/json-depth.ts';
import { LambdaApiError } from '../../gateway/lambda/errors.ts';
import { parseFunctionName } from '../../gateway/lambda/function-name.ts';
import { isQualifier, parseRoute } from '../../gateway/route.ts';
import { chooseRevision, resolveTarget } from '../../gateway/traffic.ts';
import { dnsLabel, nastyText, resourceName } from './support/arbitraries.ts';
import { expectOwnError, fuzz } from './support/budget.ts';

const qualifier = fc.oneof(
  dnsLabel,
  fc.integer({ min: 1, max: 999_999_999 }).map(String),
  fc.constant('$LATEST'),
);
const pathPart = fc.array(fc.stringMatching(/^[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}$/), {
  maxLength: 4,
});

test('the route parser refuses any malformed /fn/ URL with a 400 and reads back every well-formed one', async () => {
  await fuzz(
    'route: malformed',
    fc.property(nastyText, nastyText, (a, b) => {
      try {
        const route = parseRoute(`/fn/${a}/${b}`);
        if (route) expect(route.path.startsWith('/')).toBe(true);
      } catch (err) {
        expectOwnError(err, { class: GatewayError, codes: ['ROOST_BAD_REQUEST'], maxStatus: 499 });
      }
    }),
    { share: 0.5 },
  );
  await fuzz(
    'route: round trip',
    fc.property(
      dnsLabel,
      resourceName,
      fc.option(qualifier, { nil: undefined }),
      pathPart,
      fc.option(fc.string(), { nil: undefined }),
      (namespace, name, q, segments, query) => {
        const path = segments.length ? `/${segments.join('/')}` : '';
        const url = `/fn/${namespace}/${name}${q === undefined ? '' : `@${q}`}${path}${query === undefined ? '' : `?${query}`}`;
        const route = parseRoute(url)!;
        expect(route).toEqual({
          namespace,
          name,
          path: path || '/',
          query: query ?? '',
          ...(q === undefined ? {} : { qualifier: q }),
        });
        if (q !== undefined) expect(isQualifier(q)).toBe(true);
      },
    ),
    { share: 0.5 },
  );
});

test("the Invoke API's FunctionName is read in every form the AWS SDK sends, and anything else is InvalidParameterValueException", async () => {
  const lambdaQualifier = fc
    .stringMatching(/^[a-zA-Z0-9$_-]{1,20}$/)
    .filter((q) => q !== '$LATEST');
  await fuzz(
    'FunctionName: malformed',
    fc.property(nastyText, fc.option(nastyText, { nil: undefined }), (segment, query) => {
      try {
        parseFunctionName(segment, query, 'default');
      } catch (err) {
        expectOwnError(err, {
          class: LambdaApiError,
          codes: ['ROOST_LAMBDA_InvalidParameterValueException'],
          maxStatus: 499,
        });
      }
    }),
    { share: 0.5 },
  );
  await fuzz(
    'FunctionName: round trip',
    fc.property(
      dnsLabel.filter((n) => n.length <= 63),
      resourceName,
      fc.option(lambdaQualifier, { nil: undefined }),
      fc.constantFrom('plain', 'partial', 'arn'),
      fc.boolean(),
      (namespace, name, q, form, encode) => {
        const suffix = q === undefined ? '' : `:${q}`;
        const text =
          form === 'plain'
            ? `${name}${suffix}`
            : form === 'partial'
              ? `${namespace}:function:${name}${suffix}`
              : `arn:aws:lambda:eu-west-1:${namespace}:function:${name}${suffix}`;
        const parsed = parseFunctionName(
          encode ? encodeURIComponent(text) : text,
          undefined,
          namespace,
        );
        expect(parsed).toEqual({ namespace, name, qualifier: q });
      },
    ),
    { share: 0.5 },
  );
});

const route = (name: string, targets: { revision: number; percent: number; tag?: string }[]) =>
  ({
    metadata: { name },
    spec: { deployment: 'fn', targets },
    status: { targets },
  }) as unknown as SandboxRoute;

const functionWithRoutes = fc.record({
  latest: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
  routes: fc.array(
    fc.record({
      name: fc.oneof(dnsLabel, fc.constant('fn')),
      targets: fc.array(
        fc.record({
          revision: fc.integer({ min: 1, max: 9 }),
          percent: fc.integer({ min: 0, max: 100 }),
          tag: fc.option(dnsLabel, { nil: undefined }),
        }),
        { maxLength: 4 },
      ),
    }),
    { maxLength: 4 },
  ),
});

test('an alias, tag or revision resolves to revisions a route keeps, or is refused 404/503', async () => {
  await fuzz(
    'traffic: qualifiers',
    fc.property(
      functionWithRoutes,
      fc.option(fc.oneof(qualifier, nastyText), { nil: undefined }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      ({ latest, routes }, q, draw) => {
        const entry = new FunctionEntry('ns', 'fn');
        entry.setDeployment({
          spec: { template: { spec: { function: {} } } },
          status: latest ? { revision: latest } : {},
        } as unknown as SandboxDeployment);
        for (const r of routes) entry.routes.set(r.name, route(r.name, r.targets));
        const table = { get: () => entry } as unknown as FunctionTable;
        try {
          const target = resolveTarget(table, 'ns', 'fn', q);
          const pool = chooseRevision(target, () => draw);
          const known = new Set([
            latest,
            ...routes.flatMap((r) => r.targets.map((t) => t.revision)),
          ]);
          if (pool.revision !== undefined) expect(known.has(pool.revision)).toBe(true);
        } catch (err) {
          expectOwnError(err, {
            class: GatewayError,
            codes: ['ROOST_QUALIFIER_NOT_FOUND', 'ROOST_ROUTE_NOT_READY'],
            maxStatus: 503,
          });
        }
      },
    ),
  );
});

/** Nesting depth of a parsed JSON value, the slow way. */
const depthOf = (value: unknown): number =>
  typeof value === 'object' && value !== null
    ? 1 + Math.max(0, ...Object.values(value).map(depthOf))
    : 0;

test('jsonDepth measures any JSON text as deep as it nests, and reads any text without throwing', async () => {
  await fuzz(
    'jsonDepth: JSON values',
    fc.property(fc.jsonValue({ maxDepth: 12 }), (value) => {
      expect(jsonDepth(JSON.stringify(value))).toBe(depthOf(value));
    }),
    { share: 0.5 },
  );
  await fuzz(
    'jsonDepth: any text',
    fc.property(
      fc.string({
        unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ',', ':'),
        maxLength: 200,
      }),
      (text) => {
        expect(jsonDepth(text)).toBeGreaterThanOrEqual(0);
      },
    ),
    { share: 0.5 },
  );
});
