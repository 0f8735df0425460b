// bench:invoke's second baseline: Debian's nginx as a reverse proxy in front
// of the bare Node server, with keep-alive to its upstream, one worker (the
// gateway is one process too), no access log. Its own prefix directory in
// tmp, so it touches nothing of the system's nginx.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/ports.ts';
import { startProcess } from '../../lib/process.ts';

export interface NginxProxy {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startNginxProxy(nginx: string, upstreamPort: number): Promise<NginxProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'roost-bench-nginx-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream bare { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bare;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const proc = startProcess({
    name: 'nginx',
    command: nginx,
    args: ['-p', dir, '-c', join(dir, 'nginx.conf')],
  });
  const url = `http://127.0.0.1:${port}/`;
  for (let tries = 0; ; tries++) {
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (tries > 100) throw new Error(`nginx did not answer at ${url}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: proc.pid!,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
