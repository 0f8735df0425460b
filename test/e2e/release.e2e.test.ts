// The plain YAML release is what the chart renders today, so `kubectl apply`
// users get the same Roost as Helm users.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { RELEASE_FILE, renderRelease } from '../../testenv/release.ts';

test('deploy/release/roost.yaml is current (run `npm run generate:release` after changing the chart)', async () => {
  expect(readFileSync(RELEASE_FILE, 'utf8')).toBe(await renderRelease());
});

test('the release holds no Secret: no token is ever shared through the repository', () => {
  expect(readFileSync(RELEASE_FILE, 'utf8')).not.toMatch(/^kind: Secret$/m);
});
