// The built front end (console/ui/dist), read into memory once and served
// from here. Without a build (a checkout where `npm ci` ran with
// --ignore-scripts) the first start builds it, saying so.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import type { Logger } from '../lib/log.ts';
import { DIST_DIR, buildConsoleUi } from './ui/build.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export class StaticAssets {
  readonly #files: Map<string, Buffer>;

  private constructor(files: Map<string, Buffer>) {
    this.#files = files;
  }

  static async load(log: Logger): Promise<StaticAssets> {
    if (!existsSync(join(DIST_DIR, 'index.html'))) {
      log.info('the console front end is not built yet: building it now (esbuild, a few seconds)');
      await buildConsoleUi({ quiet: true });
    }
    const files = new Map<string, Buffer>();
    for (const name of readdirSync(DIST_DIR))
      files.set(`/${name}`, readFileSync(join(DIST_DIR, name)));
    return new StaticAssets(files);
  }

  /** A file of the build, or index.html for the page's own routes. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const name = this.#files.has(path) ? path : '/index.html';
    const body = this.#files.get(name)!;
    res.writeHead(200, {
      'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
