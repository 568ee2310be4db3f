import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { BundleStore, type PublishedBundle } from '../../../src/controller/bundles/bundle-store.ts';
import { registerBundleRoutes } from '../../../src/controller/server/bundle-routes.ts';
import { parseWait } from '../../../src/controller/server/wait-param.ts';
import { until } from '../../support/until.ts';

let app: FastifyInstance;
let base: string;
const store = new BundleStore();

function published(digest: string): PublishedBundle {
  return { key: 'ns/b', digest, archive: new TextEncoder().encode(`archive of ${digest}`), bundle: {} as any, publishedAt: 0 };
}

before(async () => {
  app = Fastify({ forceCloseConnections: true });
  registerBundleRoutes(app, store);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as any).port}`;
});
after(() => app.close());

test('wait parameter: units, cap, and junk', () => {
  assert.equal(parseWait('30s', 60_000), 30_000);
  assert.equal(parseWait('250ms', 60_000), 250);
  assert.equal(parseWait('2m', 60_000), 60_000);
  assert.equal(parseWait('5', 60_000), 5000);
  assert.equal(parseWait(undefined, 60_000), 0);
  assert.equal(parseWait('soon', 60_000), undefined);
});

test('404 with a code before anything is published; 400 for bad names and waits', async () => {
  const r = await fetch(`${base}/v1/bundles/ns/b`);
  assert.equal(r.status, 404);
  assert.equal(((await r.json()) as any).error.code, 'PORTCULLIS_POLICY_NO_BUNDLE');
  assert.equal((await fetch(`${base}/v1/bundles/NS/b`)).status, 400);
  assert.equal((await fetch(`${base}/v1/bundles/ns/b?wait=later`)).status, 400);
});

test('200 with ETag = digest; 304 for If-None-Match of the same digest', async () => {
  store.publish(published('sha256:aa'));
  const r = await fetch(`${base}/v1/bundles/ns/b`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('etag'), '"sha256:aa"');
  assert.equal(await r.text(), 'archive of sha256:aa');
  const again = await fetch(`${base}/v1/bundles/ns/b`, { headers: { 'if-none-match': '"sha256:aa"' } });
  assert.equal(again.status, 304);
});

test('a long poll is answered as soon as the digest changes', async () => {
  const poll = fetch(`${base}/v1/bundles/ns/b?wait=20s`, { headers: { 'if-none-match': '"sha256:aa"' } });
  await until(() => store.waiting() === 1, 'one request waiting');
  store.publish(published('sha256:bb'));
  const r = await poll;
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('etag'), '"sha256:bb"');
  assert.equal(store.waiting(), 0);
});

test('a long poll ends with 304 when nothing changes, and a client that leaves frees its waiter', async () => {
  const r = await fetch(`${base}/v1/bundles/ns/b?wait=200ms`, { headers: { 'if-none-match': 'W/"sha256:bb"' } });
  assert.equal(r.status, 304);
  const ac = new AbortController();
  const gone = fetch(`${base}/v1/bundles/ns/b?wait=20s`, { headers: { 'if-none-match': '"sha256:bb"' }, signal: ac.signal }).catch(() => 'aborted');
  await until(() => store.waiting() === 1, 'one request waiting');
  ac.abort();
  assert.equal(await gone, 'aborted');
  await until(() => store.waiting() === 0, 'no request waiting');
});

test('republishing the same digest wakes nobody', async () => {
  const poll = fetch(`${base}/v1/bundles/ns/b?wait=300ms`, { headers: { 'if-none-match': '"sha256:bb"' } });
  await until(() => store.waiting() === 1, 'one request waiting');
  store.publish(published('sha256:bb'));
  assert.equal((await poll).status, 304);
});
