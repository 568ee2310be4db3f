/**
 * The processes of the proxy benchmark, one role each so that no two share
 * an event loop: `upstream` (a small JSON API), `plain-proxy URL` (undici,
 * pooled, no policy), `portcullis URL` (the sidecar with the shipped bundle,
 * its catalog pointed at URL). Each prints `READY <port>` once listening.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';

const [role, upstreamUrl] = process.argv.slice(2);
const ready = (port: number): boolean => process.stdout.write(`READY ${port}\n`);
const BODY = JSON.stringify({ deployments: [{ id: 'dep_1', service: 'api', version: '1.4.2', status: 'running' }] });

async function upstream(): Promise<void> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) }).end(BODY));
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => ready((server.address() as AddressInfo).port));
}

async function plainProxy(): Promise<void> {
  const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  const origin = new URL(upstreamUrl!).origin;
  const server = createServer(async (req, res) => {
    try {
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      const r = await agent.request({ origin, path: req.url!, method: req.method as 'GET', headers, body: req.method === 'GET' ? null : req });
      res.writeHead(r.statusCode, r.headers as Record<string, string>);
      r.body.pipe(res);
    } catch {
      res.writeHead(502).end();
    }
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => ready((server.address() as AddressInfo).port));
}

async function portcullis(): Promise<void> {
  const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
  const { readBundleDir } = await import('../../src/policy/bundle-dir.ts');
  const { selectCompiler } = await import('../../src/policy/compiler.ts');
  const { OpaWasmEngine } = await import('../../src/policy/engine.ts');
  const { buildSidecar } = await import('../../src/sidecar/app.ts');
  const { loadConfig } = await import('../../src/config/config.ts');
  const bundle = await (await selectCompiler(process.env)).compile(await readBundleDir(join(root, 'policies')));
  const engine = new OpaWasmEngine();
  await engine.load({ ...bundle, tools: bundle.tools.map((t) => ({ ...t, url: t.kind === 'http' ? upstreamUrl! : t.url })) });
  const app = buildSidecar(loadConfig({ PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS: '30000', PORTCULLIS_BUNDLE: 'policies' }, { port: '0' }), { engine });
  await app.listen({ port: 0, host: '127.0.0.1' });
  ready((app.server.address() as AddressInfo).port);
}

// The suite asks for this process's CPU time: CPU per request does not
// depend on what else the machine is running, unlike requests per second.
process.on('message', (m) => {
  if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
});

const roles: Record<string, () => Promise<void>> = { upstream, 'plain-proxy': plainProxy, portcullis };
const run = roles[role ?? ''];
if (!run) {
  process.stderr.write(`usage: servers.ts upstream | plain-proxy URL | portcullis URL\n`);
  process.exit(2);
}
run().catch((e: unknown) => {
  process.stderr.write(`${role}: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
