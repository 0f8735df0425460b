// Which function a request is for: /fn/<namespace>/<name>[/<path>][?query].
import { badRequest } from './errors.ts';

export interface FunctionRoute {
  namespace: string;
  name: string;
  /** The path after the function's prefix, always starting with "/". */
  path: string;
  /** The raw query string, without "?". */
  query: string;
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
  const name =
    secondSlash < 0
      ? ''
      : thirdSlash < 0
        ? pathname.slice(secondSlash + 1)
        : pathname.slice(secondSlash + 1, thirdSlash);
  if (!DNS_LABEL.test(namespace) || !isResourceName(name)) {
    throw badRequest(
      `Cannot route ${pathname}: use /fn/<namespace>/<name>[/<path>] with Kubernetes names`,
    );
  }
  const path = thirdSlash < 0 ? '/' : pathname.slice(thirdSlash);
  return { namespace, name, path, query };
}

/** A Kubernetes object name (an RFC 1123 subdomain). */
export function isResourceName(name: string): boolean {
  return (
    name.length > 0 && name.length <= 253 && name.split('.').every((part) => DNS_LABEL.test(part))
  );
}
