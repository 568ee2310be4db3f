/**
 * nginx from Debian as a reference reverse proxy: installed with apt-get when
 * missing, run with a generated configuration (one worker, keep-alive to the
 * upstream, access log on as Debian ships it) from a folder of its own.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startProcess, type Running } from './processes.ts';

const run = promisify(execFile);

async function nginxPath(): Promise<string | undefined> {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    try {
      await run(p, ['-v']);
      return p;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** The nginx binary, installed from Debian's archive when it is not there yet. */
export async function ensureNginx(log: (line: string) => void): Promise<{ path: string; version: string }> {
  let path = await nginxPath();
  if (!path) {
    log('proxy: nginx is not installed; installing it with apt-get (Debian package nginx) …');
    // RUNLEVEL=1 keeps the package's scripts from starting a system-wide nginx on port 80.
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
    try {
      await run('apt-get', ['update'], { env, maxBuffer: 64 * 1024 * 1024 });
      await run('apt-get', ['install', '-y', '--no-install-recommends', 'nginx'], { env, maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
      throw new Error(`installing nginx with apt-get failed (run the bench as root, or install the Debian package nginx first): ${(e as Error).message.split('\n')[0]}`);
    }
    path = await nginxPath();
    if (!path) throw new Error('apt-get installed nginx but no nginx binary was found in /usr/sbin or /usr/bin');
  }
  const { stderr } = await run(path, ['-v']);
  return { path, version: stderr.trim().replace(/^nginx version:\s*/, '') };
}

export async function startNginx(binary: string, dir: string, port: number, upstreamPort: number): Promise<Running> {
  await mkdir(join(dir, 'temp'), { recursive: true });
  const temp = (name: string): string => join(dir, 'temp', name);
  const conf = `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log ${join(dir, 'access.log')};
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  client_body_buffer_size 64k;
  keepalive_requests 1000000;
  upstream tools {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://tools;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  return startProcess('nginx', binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], process.env, dir);
}
