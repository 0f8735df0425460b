// The image every pod sandbox starts from. The upstream pause image cannot be
// pulled here, so the same idea is built locally: a static program that holds
// the pod's namespaces and reaps orphans, alone in a FROM-scratch image.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from './buildah.ts';

export const PAUSE_IMAGE = 'localhost/roost/pause:3.10';

export async function buildPauseImage(pauseBinary: string): Promise<string> {
  const context = mkdtempSync(join(tmpdir(), 'roost-pause-'));
  try {
    copyFileSync(pauseBinary, join(context, 'pause'));
    writeFileSync(
      join(context, 'Containerfile'),
      'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n',
    );
    await buildImage({
      containerfile: join(context, 'Containerfile'),
      context,
      tag: PAUSE_IMAGE,
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return PAUSE_IMAGE;
}
