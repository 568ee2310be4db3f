import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { ErrorCodes } from '../../src/errors.ts';

// The policy of these tests: deny /prod/, compute /deploy → /dry-run/deploy,
// constrain /big, allow the rest.
const policy = (input: any): unknown => {
  const h = input.action.http;
  if (input.action.type === 'connect') return h.port === 443 ? { effect: 'deny', reason: 'no tunnels to 443 here' } : { effect: 'allow', reason: 'tunnel' };
  if (h.path.startsWith('/prod/')) return { effect: 'deny', reason: 'writes to /prod/ are denied' };
  if (h.path === '/deploy') return { effect: 'compute', reason: 'dry run', rewrite: { http: { path: '/dry-run/deploy', query: { dryRun: ['true'] } } } };
  if (h.path === '/stall') return { effect: 'allow', reason: 'short', constraints: { timeoutMs: 200 } };
  if (h.path === '/big') return { effect: 'allow', reason: 'capped', constraints: { maxResponseBytes: 10 } };
  if (h.path === '/secret') return { effect: 'allow', reason: 'redacted', constraints: { redact: ['$.card.number'], stripHeaders: ['x-debug'] } };
  return { effect: 'allow', reason: 'ok' };
};

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;

before(async () => {
  upstream = await startUpstream((a, res) => {
    res.setHeader('content-type', 'application/json');
    if (a.url === '/redirect') {
      res.statusCode = 302;
      res.setHeader('location', 'http://127.0.0.1:1/elsewhere');
      return res.end();
    }
    if (a.url === '/secret') {
      res.setHeader('x-debug', 'internal');
      return res.end(JSON.stringify({ card: { number: '4242', brand: 'visa' } }));
    }
    if (a.url === '/stall') return; // never answers
    if (a.url === '/big') return res.end(JSON.stringify({ data: 'x'.repeat(100) }));
    res.end(JSON.stringify({ ok: true, url: a.url }));
  });
  sidecar = await startSidecar({ engine: functionEngine(policy), ids: (() => { let n = 0; return () => `d${++n}`; })() }, { bodyLimitBytes: '1000' });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
});

const arrived = (path: string): boolean => upstream.log.some((a) => a.url.startsWith(path));

test('an allowed absolute-form request is forwarded, with traceparent passed on', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/read/x?y=1`, headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { ok: true, url: '/read/x?y=1' });
  const a = upstream.log.find((x) => x.url === '/read/x?y=1')!;
  assert.match(String(a.headers.traceparent), /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
});

test('a denied request gets 403 with reason and trace ID and never arrives upstream', async () => {
  const r = await send(sidecar.port, { method: 'POST', path: `${upstream.origin}/%70rod/../prod/db`, headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(r.status, 403);
  const e = r.json().error;
  assert.equal(e.code, ErrorCodes.DENIED);
  assert.equal(e.message, 'writes to /prod/ are denied');
  assert.match(e.traceId, /^[0-9a-f]{32}$/);
  assert.ok(!arrived('/prod'));
});

test('a computed request arrives rewritten', async () => {
  const r = await send(sidecar.port, { method: 'POST', path: `${upstream.origin}/deploy`, body: '' });
  assert.equal(r.status, 200);
  assert.ok(upstream.log.some((a) => a.url === '/dry-run/deploy?dryRun=true'));
  assert.ok(!upstream.log.some((a) => a.url === '/deploy'));
});

test('constraints: response size cap and field redaction, header stripping', async () => {
  const big = await send(sidecar.port, { path: `${upstream.origin}/big` });
  assert.equal(big.status, 502);
  assert.equal(big.json().error.code, ErrorCodes.RESPONSE_TOO_LARGE);
  const s = await send(sidecar.port, { path: `${upstream.origin}/secret` });
  assert.deepEqual(s.json(), { card: { brand: 'visa' } });
  assert.equal(s.headers['x-debug'], undefined);
});

test('redirects are passed back, never followed', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/redirect` });
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, 'http://127.0.0.1:1/elsewhere');
});

test('bad input: malformed JSON, duplicate keys, oversize body, bad path, unknown route', async () => {
  const j = { 'content-type': 'application/json' };
  const cases: Array<[Parameters<typeof send>[1], number, string]> = [
    [{ method: 'POST', path: `${upstream.origin}/x`, headers: j, body: '{"a":' }, 400, ErrorCodes.BAD_REQUEST],
    [{ method: 'POST', path: `${upstream.origin}/x`, headers: j, body: '{"path":"/tmp","path":"/prod/x"}' }, 400, ErrorCodes.JSON_DUPLICATE_KEY],
    [{ method: 'POST', path: `${upstream.origin}/x`, headers: j, body: '"' + 'a'.repeat(2000) + '"' }, 413, ErrorCodes.BODY_TOO_LARGE],
    [{ path: `${upstream.origin}/a%00b` }, 400, ErrorCodes.BAD_PATH],
    [{ path: '/nowhere' }, 404, ErrorCodes.UNKNOWN_ROUTE],
    [{ path: '/tools/nope/x' }, 404, ErrorCodes.UNKNOWN_ROUTE],
  ];
  const before = upstream.log.length;
  for (const [req, status, code] of cases) {
    const r = await send(sidecar.port, req);
    assert.equal(r.status, status, req.path);
    assert.equal(r.json().error.code, code, req.path);
  }
  assert.equal(upstream.log.length, before);
});

test('an unreachable upstream is a 502 with UPSTREAM', async () => {
  const r = await send(sidecar.port, { path: 'http://127.0.0.1:1/x' });
  assert.equal(r.status, 502);
  assert.equal(r.json().error.code, ErrorCodes.UPSTREAM);
});

test('an upstream slower than the decision\'s timeout is a 504 with UPSTREAM_TIMEOUT', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/stall` });
  assert.equal(r.status, 504);
  assert.equal(r.json().error.code, ErrorCodes.UPSTREAM_TIMEOUT);
});

test('undici ProxyAgent tunnels http:// through CONNECT: each request inside is still decided', async () => {
  const { ProxyAgent, request } = await import('undici');
  const agent = new ProxyAgent(`http://127.0.0.1:${sidecar.port}`);
  try {
    const denied = await request(`${upstream.origin}/prod/db`, { dispatcher: agent });
    assert.equal(denied.statusCode, 403);
    assert.equal(((await denied.body.json()) as any).error.code, ErrorCodes.DENIED);
    const allowed = await request(`${upstream.origin}/read/tunnelled`, { dispatcher: agent });
    assert.equal(allowed.statusCode, 200);
    await allowed.body.dump();
  } finally {
    await agent.close();
  }
  assert.ok(upstream.log.some((a) => a.url === '/read/tunnelled'));
  assert.ok(!upstream.log.some((a) => a.url.startsWith('/prod')));
});

test('a body sent after Expect: 100-continue (curl does so above 1 KiB) is forwarded', async () => {
  const body = JSON.stringify({ text: 'y'.repeat(900) });
  const r = await send(sidecar.port, { method: 'POST', path: `${upstream.origin}/read/expect`, headers: { 'content-type': 'application/json', expect: '100-continue' }, body });
  assert.equal(r.status, 200);
  assert.equal(upstream.log.find((a) => a.url === '/read/expect')!.body, body);
});
