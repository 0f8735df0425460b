// The split `roost traffic set` takes on its command line, as route targets:
// "3=90 latest=10" gives revision 3 90% and the newest revision 10%;
// "--tag canary=latest" or "--tag old=2" names a revision by a tag (a
// revision without a share is added at 0%). Checked here, with messages that
// say which argument is wrong, before the API server's own validation.
import type { RouteTarget } from '../kube/api/roost.ts';
import { usageError } from './errors.ts';

const TAG = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** "3" or "latest" → what a target names. */
function revisionRef(
  text: string,
  argument: string,
): Pick<RouteTarget, 'revision' | 'latestRevision'> {
  if (text === 'latest') return { latestRevision: true };
  if (/^[1-9][0-9]*$/.test(text)) return { revision: Number(text) };
  throw usageError(
    `Cannot read ${JSON.stringify(argument)}: a revision is a number (as \`roost rollout history\` lists) or "latest"`,
  );
}

const sameRef = (a: RouteTarget, b: Pick<RouteTarget, 'revision' | 'latestRevision'>) =>
  b.latestRevision ? !!a.latestRevision : a.revision === b.revision;

export function parseTrafficSpec(
  splits: readonly string[],
  tags: readonly string[] = [],
): RouteTarget[] {
  if (splits.length === 0) throw usageError('Say where the traffic goes, such as `3=90 latest=10`');
  const targets: RouteTarget[] = [];
  for (const split of splits) {
    const match = /^([^=]+)=([0-9]+)%?$/.exec(split);
    if (!match)
      throw usageError(
        `Cannot read ${JSON.stringify(split)}: write <revision>=<percent>, such as 3=90 or latest=10`,
      );
    const ref = revisionRef(match[1]!, split);
    const percent = Number(match[2]);
    if (percent > 100)
      throw usageError(`Cannot read ${JSON.stringify(split)}: a percent is 0 to 100`);
    if (targets.some((t) => sameRef(t, ref)))
      throw usageError(`Cannot read ${JSON.stringify(split)}: that revision already has a share`);
    targets.push({ ...ref, percent });
  }
  const total = targets.reduce((n, t) => n + (t.percent ?? 0), 0);
  if (total !== 100)
    throw usageError(`The shares add up to ${total}%, not 100%: ${splits.join(' ')}`);
  for (const tag of tags) {
    const match = /^([^=]+)=(.+)$/.exec(tag);
    if (!match || !TAG.test(match[1]!) || match[1]!.length > 63)
      throw usageError(
        `Cannot read --tag ${JSON.stringify(tag)}: write <tag>=<revision>, the tag a DNS label such as canary`,
      );
    const ref = revisionRef(match[2]!, tag);
    if (targets.some((t) => t.tag === match[1]))
      throw usageError(`Cannot read --tag ${JSON.stringify(tag)}: that tag is given twice`);
    const target = targets.find((t) => sameRef(t, ref) && !t.tag);
    if (target) target.tag = match[1]!;
    else targets.push({ ...ref, percent: 0, tag: match[1]! });
  }
  return targets;
}
