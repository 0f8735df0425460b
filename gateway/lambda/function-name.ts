// Which function an Invoke API call names. The path segment {FunctionName}
// takes the forms the AWS SDK and CLI accept, with Roost's namespace in the
// place of the AWS account, because that is the one field of an ARN that says
// whose function it is:
//
//   hello                                          the gateway's default namespace
//   team-a:function:hello                          a partial ARN: namespace team-a
//   arn:aws:lambda:us-east-1:team-a:function:hello a full ARN (the region is ignored)
//
// A qualifier (`hello:live`, `...:function:hello:3`, or ?Qualifier=) names an
// alias or version. Roost has none yet: refuseQualifier is the one place that
// says so, for SandboxRoute to replace.
import { DNS_LABEL, isResourceName } from '../route.ts';
import { lambdaError } from './errors.ts';

export interface NamedFunction {
  namespace: string;
  name: string;
  /** A version or alias, if one was named; `$LATEST` is the same as none. */
  qualifier: string | undefined;
}

const QUALIFIER = /^(\$LATEST|[a-zA-Z0-9$_-]{1,128})$/;

/** The function an Invoke API path segment names, or a 400 (InvalidParameterValueException). */
export function parseFunctionName(
  segment: string,
  queryQualifier: string | undefined,
  defaultNamespace: string,
): NamedFunction {
  const text = decodeSegment(segment);
  const parts = text.split(':');
  let namespace = defaultNamespace;
  let name: string | undefined;
  let qualifier: string | undefined;
  if (parts.length <= 2 && parts[0] !== 'arn') {
    [name, qualifier] = parts;
  } else if (parts[0] === 'arn' && parts.length >= 7 && parts.length <= 8) {
    // arn:<partition>:lambda:<region>:<namespace>:function:<name>[:<qualifier>]
    if (parts[2] !== 'lambda' || parts[5] !== 'function') throw notAFunction(text);
    namespace = parts[4]!;
    name = parts[6];
    qualifier = parts[7];
  } else if (parts.length >= 3 && parts.length <= 4 && parts[1] === 'function') {
    namespace = parts[0]!;
    name = parts[2];
    qualifier = parts[3];
  } else {
    throw notAFunction(text);
  }
  if (!DNS_LABEL.test(namespace) || namespace.length > 63)
    throw invalidName(
      `the namespace ${JSON.stringify(namespace)} is not a Kubernetes namespace name`,
    );
  if (name === undefined || !isResourceName(name))
    throw invalidName(`the function name ${JSON.stringify(name ?? '')} is not a Kubernetes name`);
  if (qualifier !== undefined && queryQualifier !== undefined && qualifier !== queryQualifier)
    throw invalidName(
      `the qualifier in the function name (${qualifier}) differs from Qualifier=${queryQualifier}`,
    );
  qualifier ??= queryQualifier;
  if (qualifier !== undefined && !QUALIFIER.test(qualifier))
    throw invalidName(`the qualifier ${JSON.stringify(qualifier)} is not a version or alias name`);
  return { namespace, name, qualifier: qualifier === '$LATEST' ? undefined : qualifier };
}

/**
 * Roost has no versions or aliases yet (SandboxRoute will add them): a named
 * qualifier is refused rather than ignored, so that a caller never runs a
 * revision it did not ask for.
 */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalidName('the function name is not valid percent-encoding');
  }
}

const invalidName = (why: string) =>
  lambdaError(400, 'InvalidParameterValueException', `Cannot read FunctionName: ${why}`);

const notAFunction = (text: string) =>
  invalidName(
    `${JSON.stringify(text)} is none of NAME, NAMESPACE:function:NAME or arn:aws:lambda:REGION:NAMESPACE:function:NAME`,
  );
