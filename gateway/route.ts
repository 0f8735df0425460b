// Which function a request is for: /fn/<namespace>/<name>[@<qualifier>][/<path>][?query],
// where the qualifier is an alias (a SandboxRoute), a tag or a revision number.
import { badRequest } from './errors.ts';

export interface FunctionRoute {
  namespace: string;
  name: string;
  /** The path after the function's prefix, always starting with "/". */
  path: string;
  /** The raw query string, without "?". */
  query: string;
  /** After "@": an alias, a tag or a revision number (traffic.ts resolves it). */
  qualifier?: string;
}

/** A Kubernetes namespace name (an RFC 1123 label). */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The route of a request URL, undefined if it is not under /fn/, or throws for a malformed one. */
export function parseRoute(url: string): FunctionRoute | undefined {
  if (!url.startsWith('/fn/')) return undefined;
  const queryAt = url.indexOf('?');
  const pathname = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : url.slice(queryAt + 1);
  const secondSlash = pathname.indexOf('/', 4);
  const thirdSlash = secondSlash < 0 ? -1 : pathname.indexOf('/', secondSlash + 1);
  const namespace = secondSlash < 0 ? pathname.slice(4) : pathname.slice(4, secondSlash);
  const qualified =
    secondSlash < 0
      ? ''
      : thirdSlash < 0
        ? pathname.slice(secondSlash + 1)
        : pathname.slice(secondSlash + 1, thirdSlash);
  const at = qualified.indexOf('@');
  const name = at < 0 ? qualified : qualified.slice(0, at);
  const qualifier = at < 0 ? undefined : qualified.slice(at + 1);
  if (!DNS_LABEL.test(namespace) || !isResourceName(name)) {
    throw badRequest(
      `Cannot route ${pathname}: use /fn/<namespace>/<name>[@<alias>][/<path>] with Kubernetes names`,
    );
  }
  if (qualifier !== undefined && !isQualifier(qualifier))
    throw badRequest(
      `Cannot route ${pathname}: the part after "@" is an alias, a tag (a DNS label) or a revision number`,
    );
  const path = thirdSlash < 0 ? '/' : pathname.slice(thirdSlash);
  return { namespace, name, path, query, ...(qualifier !== undefined ? { qualifier } : {}) };
}

/** An alias or tag (a DNS label of at most 63), a revision number, or $LATEST. */
export function isQualifier(qualifier: string): boolean {
  return (
    qualifier === '$LATEST' ||
    /^[1-9][0-9]{0,8}$/.test(qualifier) ||
    (qualifier.length <= 63 && DNS_LABEL.test(qualifier))
  );
}

/** A Kubernetes object name (an RFC 1123 subdomain). */
export function isResourceName(name: string): boolean {
  return (
    name.length > 0 && name.length <= 253 && name.split('.').every((part) => DNS_LABEL.test(part))
  );
}
