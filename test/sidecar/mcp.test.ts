/** The MCP route with a test-only policy: per-message decisions, rewrites, SSE constraints. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { mergeConstraints } from '../../src/sidecar/mcp-proxy.ts';

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;

const policy = (input: any): unknown => {
  const m = input.action.mcp;
  if (m.method === '$sse') return { effect: 'deny', reason: 'no server streams' };
  if (m.method === 'notifications/initialized') return { effect: 'deny', reason: 'no notifications' };
  if (m.method !== 'tools/call') return { effect: 'allow', reason: 'protocol' };
  if (m.name === 'deploy' && !m.arguments.dryRun) return { effect: 'compute', reason: 'dry run', rewrite: { mcp: { arguments: { ...m.arguments, dryRun: true } } } };
  if (m.name === 'deploy') return { effect: 'allow', reason: 'dry run ok' };
  if (m.name === 'secrets') return { effect: 'allow', reason: 'redacted', constraints: { redact: ['$.result.token'] } };
  if (m.name === 'huge') return { effect: 'allow', reason: 'capped', constraints: { maxResponseBytes: 200 } };
  return { effect: 'deny', reason: `tool ${m.name} is not allowed` };
};

function sse(res: import('node:http').ServerResponse, messages: unknown[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const m of messages) res.write(`event: message\ndata: ${JSON.stringify(m)}\n\n`);
  res.end();
}

before(async () => {
  upstream = await startUpstream((a, res) => {
    const body = a.body ? JSON.parse(a.body) : null;
    const msgs = Array.isArray(body) ? body : [body];
    const replies = msgs.filter((m) => m && m.id !== undefined).map((m) => {
      if (m.params?.name === 'secrets') return { jsonrpc: '2.0', id: m.id, result: { token: 's3cret', user: 'ann' } };
      if (m.params?.name === 'huge') return { jsonrpc: '2.0', id: m.id, result: { data: 'x'.repeat(1000) } };
      return { jsonrpc: '2.0', id: m.id, result: { echo: m.params ?? null } };
    });
    if (replies.length === 0) return void res.writeHead(202).end();
    sse(res, replies);
  });
  const engine = functionEngine(policy, undefined, [{ name: 'ops', kind: 'mcp', url: `${upstream.origin}/mcp` }]);
  sidecar = await startSidecar({ engine });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
});

const rpc = (body: unknown): Promise<import('./helpers.ts').Reply> =>
  send(sidecar.port, { method: 'POST', path: '/mcp/ops', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(body) });
const events = (text: string): any[] => text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));

test('a computed tools/call arrives with the rewritten arguments', async () => {
  const r = await rpc({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'deploy', arguments: { env: 'prod' } } });
  assert.deepEqual(events(r.body)[0].result.echo.arguments, { env: 'prod', dryRun: true });
  assert.deepEqual(JSON.parse(upstream.log.at(-1)!.body).params.arguments, { env: 'prod', dryRun: true });
});

test('a batch where every call is denied never reaches the upstream and gets one error per call', async () => {
  const n = upstream.log.length;
  const r = await rpc([
    { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'rm', arguments: {} } },
    { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'shell', arguments: {} } },
  ]);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json().map((e: any) => [e.id, e.error.data.code]), [['a', ErrorCodes.DENIED], ['b', ErrorCodes.DENIED]]);
  assert.equal(upstream.log.length, n);
});

test('a denied notification is a 403; a denied server stream is a 403', async () => {
  const n = await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' });
  assert.equal(n.status, 403);
  const g = await send(sidecar.port, { path: '/mcp/ops', headers: { accept: 'text/event-stream' } });
  assert.equal(g.status, 403);
  assert.equal(g.json().error.message, 'no server streams');
});

test('SSE responses are redacted event by event, and cut at the size limit', async () => {
  const r = await rpc({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'secrets', arguments: {} } });
  assert.deepEqual(events(r.body)[0].result, { user: 'ann' });
  const cut = await rpc({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'huge', arguments: {} } }).catch((e) => e);
  // The one event is over the limit before any byte went out: a clean error instead of a cut stream.
  assert.equal(cut.status, 502);
  assert.equal(cut.json().error.code, ErrorCodes.RESPONSE_TOO_LARGE);
});

test('calls sharing one exchange share the tightest constraints', () => {
  assert.deepEqual(mergeConstraints([{ timeoutMs: 50, redact: ['$.a'] }, { timeoutMs: 10, maxResponseBytes: 9, redact: ['$.b'], stripHeaders: ['x'] }, {}]), {
    timeoutMs: 10,
    maxResponseBytes: 9,
    redact: ['$.a', '$.b'],
    stripHeaders: ['x'],
  });
});
