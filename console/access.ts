// What a session may see and do. A login link acts with the console's own
// service account (whoever could read the login key is trusted that far). A
// Kubernetes user who logged in with a bearer token is asked about, with a
// SubjectAccessReview per namespace and action, as the API server would:
//   see a namespace:  list sandboxdeployments.roost.dev in it
//   scale a function: update sandboxdeployments.roost.dev/scale
//   invoke it:        create sandboxdeployments.roost.dev/invoke
// Answers are cached per session for a short while, so that a page update
// does not cost one review per namespace.
import type { KubeClient } from '../kube/client.ts';
import { ROOST_GROUP } from '../kube/api/resources.ts';
import { RoostError } from '../lib/errors.ts';
import type { Principal, Session } from './sessions.ts';

export type ConsoleAction = 'list' | 'scale' | 'invoke' | 'route';

const REVIEW_CACHE_MS = 30_000;

const ATTRIBUTES: Record<ConsoleAction, { verb: string; resource?: string; subresource?: string }> =
  {
    list: { verb: 'list' },
    scale: { verb: 'update', subresource: 'scale' },
    invoke: { verb: 'create', subresource: 'invoke' },
    route: { verb: 'patch', resource: 'sandboxroutes' },
  };

export class TokenRejectedError extends RoostError {
  constructor(reason: string) {
    super('ROOST_CONSOLE_TOKEN', `Cannot log in with this token: ${reason}`);
  }
}

export class Access {
  readonly #client: KubeClient;
  readonly #cache = new WeakMap<Session, Map<string, { allowed: boolean; until: number }>>();

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /** The user a bearer token belongs to (a TokenReview), or TokenRejectedError. */
  async authenticate(token: string): Promise<Principal> {
    if (!token || token.length > 16_384 || /\s/.test(token))
      throw new TokenRejectedError('it is empty or malformed');
    const review = await this.#client.raw<{
      status?: {
        authenticated?: boolean;
        error?: string;
        user?: {
          username?: string;
          uid?: string;
          groups?: string[];
          extra?: Record<string, string[]>;
        };
      };
    }>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    });
    const user = review.status?.user;
    if (!review.status?.authenticated || !user?.username)
      throw new TokenRejectedError(
        review.status?.error
          ? `the API server says: ${review.status.error}`
          : 'the API server does not know it',
      );
    return {
      kind: 'user',
      username: user.username,
      uid: user.uid,
      groups: user.groups ?? [],
      extra: user.extra,
    };
  }

  /** May this session do `action` in `namespace`? */
  async allows(
    session: Session,
    action: ConsoleAction,
    namespace: string,
    now = Date.now(),
  ): Promise<boolean> {
    const principal = session.principal;
    if (principal.kind === 'link') return true;
    let cache = this.#cache.get(session);
    if (!cache) this.#cache.set(session, (cache = new Map()));
    const key = `${action}/${namespace}`;
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.allowed;
    const { verb, resource = 'sandboxdeployments', subresource } = ATTRIBUTES[action];
    const review = await this.#client.raw<{ status?: { allowed?: boolean } }>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: principal.username,
          uid: principal.uid,
          groups: principal.groups,
          extra: principal.extra,
          resourceAttributes: {
            namespace,
            verb,
            group: ROOST_GROUP,
            resource,
            subresource,
          },
        },
      },
    );
    const allowed = review.status?.allowed === true;
    cache.set(key, { allowed, until: now + REVIEW_CACHE_MS });
    return allowed;
  }

  /** The namespaces of `namespaces` this session may see. */
  async visible(session: Session, namespaces: Iterable<string>): Promise<Set<string>> {
    const list = [...namespaces];
    const allowed = await Promise.all(list.map((ns) => this.allows(session, 'list', ns)));
    return new Set(list.filter((_, i) => allowed[i]));
  }
}
