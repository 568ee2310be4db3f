/**
 * Whole data-plane flows with real parts: the shipped policies compiled and
 * evaluated by opa-wasm, the real sidecar and admin server, real upstreams on
 * loopback (an MCP server from the SDK over Streamable HTTP with SSE
 * responses, and HTTP APIs), and an MCP client from the SDK. The upstreams'
 * own logs show what arrived.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { buildSidecar } from '../../src/sidecar/app.ts';
import { buildAdmin } from '../../src/sidecar/admin.ts';
import { LocalApprovalBroker } from '../../src/sidecar/local-approvals.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLedgerRecorder, type LedgerRecorder } from '../../src/evidence/ledger-recorder.ts';
import { verifyLedger } from '../../src/evidence/verify.ts';
import type { EvidenceRecorder, IntentRecord } from '../../src/evidence/recorder.ts';
import { startDemoFsServer, type DemoFsServer } from '../../src/demo/fs-mcp-server.ts';
import { startDeployApi, startPaymentsApi, type DemoApi } from '../../src/demo/http-apis.ts';
import { main } from '../../src/cli/main.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { shippedBundle, withTools } from './shipped-bundle.ts';
import { until } from '../support/until.ts';

let fs: DemoFsServer;
let payments: DemoApi;
let deploy: DemoApi;
let dir: string;
let ledger: LedgerRecorder;
const apps: FastifyInstance[] = [];
let enforce: string; // sidecar base URLs
let observe: string;
let closed: string;
let admin: string;
const observed: IntentRecord[] = [];
const ADMIN_TOKEN = 'data-plane-admin-token';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
let tokenFile: string;

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

before(async () => {
  [fs, payments, deploy] = await Promise.all([startDemoFsServer(), startPaymentsApi(), startDeployApi()]);
  const bundle = withTools(await shippedBundle(), { fs: fs.url, payments: payments.url, deploy: deploy.url });
  const engine = new OpaWasmEngine();
  await engine.load(bundle);
  dir = await mkdtemp(join(tmpdir(), 'portcullis-e2e-'));
  ledger = await createLedgerRecorder({ path: join(dir, 'ledger.jsonl') });
  const approvals = new LocalApprovalBroker({ approverGroups: { payments: 'alice,bob' } });
  const env = { PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS: '200', PORTCULLIS_BUNDLE: 'policies' };
  enforce = await listen(buildSidecar(loadConfig(env, { port: '0' }), { engine, recorder: ledger, approvals }));
  admin = await listen(buildAdmin({ engine, bundleName: () => 'policies', approvals, adminToken: ADMIN_TOKEN }));
  tokenFile = join(dir, 'admin-token');
  await writeFile(tokenFile, ADMIN_TOKEN);
  const memory: EvidenceRecorder = {
    intent: async (r) => (observed.push(r), { seq: observed.length, hash: '' }),
    outcome: async () => undefined,
    head: () => undefined,
    close: async () => undefined,
  };
  observe = await listen(buildSidecar(loadConfig({ ...env, PORTCULLIS_MODE: 'observe' }, { port: '0' }), { engine, recorder: memory }));
  closed = await listen(buildSidecar(loadConfig(env, { port: '0' }), { engine: new OpaWasmEngine() }));
});

after(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await ledger?.close();
  await Promise.all([fs?.close(), payments?.close(), deploy?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function mcpClient(base: string): Promise<Client> {
  const client = new Client({ name: 'e2e-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp/fs`)));
  return client;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

function waitForApproval(): Promise<{ id: string; summary: string }> {
  return until(async () => {
    const { approvals } = (await (await fetch(`${admin}/v1/approvals`, { headers: auth })).json()) as { approvals: { id: string; summary: string }[] };
    return approvals[0];
  }, 'an approval request');
}

test('MCP: a client lists tools and reads through the gate; a write to /prod/ is denied and never arrives', async () => {
  const client = await mcpClient(enforce);
  try {
    const tools = await client.listTools();
    assert.ok(tools.tools.some((t) => t.name === 'write_file'));
    const read = await client.callTool({ name: 'read_file', arguments: { path: '/prod/config.yaml' } });
    assert.match((read.content as { text: string }[])[0]!.text, /replicas: 3/);
    await assert.rejects(
      client.callTool({ name: 'write_file', arguments: { path: '/prod/config.yaml', content: 'replicas: 0' } }),
      (e: any) => e.code === -32001 && /\/prod\//.test(e.message),
    );
    await assert.rejects(client.callTool({ name: 'write_file', arguments: { path: '/tmp/../prod/config.yaml', content: 'x' } }), (e: any) => e.code === -32001);
    const ok = await client.callTool({ name: 'write_file', arguments: { path: '/tmp/out.txt', content: 'fine' } });
    assert.equal(ok.isError, undefined);
  } finally {
    await client.close();
  }
  assert.deepEqual(fs.calls.filter((c) => c.name === 'write_file').map((c) => c.arguments.path), ['/tmp/out.txt']);
  assert.equal(fs.files.get('/prod/config.yaml'), 'replicas: 3\nimage: api:1.4.2\n');
});

test('MCP batch over SSE: the denied call gets its own JSON-RPC error, the allowed one proceeds', async () => {
  const before = fs.calls.length;
  const res = await post(`${enforce}/mcp/fs`, [
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_file', arguments: { path: '/prod/config.yaml' } } },
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_directory', arguments: { path: '/tmp' } } },
  ], { accept: 'application/json, text/event-stream' });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events = (await res.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
  const byId = new Map(events.map((e) => [e.id, e]));
  assert.equal(byId.get(1).error.data.code, ErrorCodes.DENIED);
  assert.match(byId.get(1).error.data.traceId, /^[0-9a-f]{32}$/);
  assert.ok(byId.get(2).result);
  assert.deepEqual(fs.calls.slice(before).map((c) => c.name), ['list_directory']);
});

test('compute: a deployment arrives rewritten onto the dry-run path', async () => {
  const res = await post(`${enforce}/tools/deploy/v1/deployments`, { service: 'api', version: '1.5.0' });
  assert.equal(res.status, 200);
  assert.deepEqual(((await res.json()) as { dryRun: boolean }).dryRun, true);
  assert.deepEqual(deploy.log.map((a) => `${a.method} ${a.url}`), ['POST /v1/dry-run/deployments']);
  assert.deepEqual(JSON.parse(deploy.log[0]!.body), { service: 'api', version: '1.5.0' });
});

test('allow with constraints: a read has card numbers removed', async () => {
  const res = await fetch(`${enforce}/tools/payments/v1/charges`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { charges: { card: Record<string, string> }[] };
  assert.ok(body.charges.length >= 2);
  for (const c of body.charges) assert.deepEqual(Object.keys(c.card), ['brand']);
});

test('escalate: a large charge arrives only after approval through the admin endpoint', async () => {
  const pending = post(`${enforce}/tools/payments/v1/charges`, { amount: 5000, currency: 'eur' });
  const held = await waitForApproval();
  assert.match(held.summary, /payments POST/);
  assert.equal(payments.log.filter((a) => a.method === 'POST').length, 0);
  const verdict = await post(`${admin}/v1/approvals/${held.id}`, { verdict: 'approved', approver: 'alice' }, auth);
  assert.equal(verdict.status, 200);
  const res = await pending;
  assert.equal(res.status, 201);
  assert.deepEqual(payments.log.filter((a) => a.method === 'POST').map((a) => JSON.parse(a.body).amount), [5000]);
});

test('escalate: `portcullis approve ID` lets a held call go; `portcullis reject ID` denies one', async () => {
  const out: string[] = [];
  const io = {
    stdout: new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }),
    stderr: new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }),
    env: {},
    cwd: process.cwd(),
  };
  const approved = post(`${enforce}/tools/payments/v1/charges`, { amount: 2500 });
  const a = await waitForApproval();
  assert.equal(await main(['approve', a.id, '--admin', admin, '--token-file', tokenFile, '--approver', 'bob'], io), 0, out.join(''));
  assert.equal((await approved).status, 201);

  const rejected = post(`${enforce}/tools/payments/v1/charges`, { amount: 9999 });
  const r = await waitForApproval();
  assert.equal(await main(['reject', r.id, '--admin', admin, '--token-file', tokenFile, '--approver', 'alice'], io), 0, out.join(''));
  const res = await rejected;
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as any).error.code, ErrorCodes.ESCALATION_REJECTED);
  assert.deepEqual(payments.log.filter((x) => x.method === 'POST').map((x) => JSON.parse(x.body).amount), [5000, 2500]);
  assert.equal(await main(['approve', 'no-such-id', '--admin', admin, '--token-file', tokenFile], io), 1);
});

test('observe mode forwards a would-deny and records it as one', async () => {
  const client = await mcpClient(observe);
  try {
    await client.callTool({ name: 'write_file', arguments: { path: '/prod/observed.txt', content: 'x' } });
  } finally {
    await client.close();
  }
  assert.equal(fs.files.get('/prod/observed.txt'), 'x');
  const rec = observed.find((r) => r.input.action.mcp?.name === 'write_file')!;
  assert.equal(rec.effect, 'deny');
  assert.equal(rec.enforcedEffect, 'allow');
  assert.equal(rec.mode, 'observe');
});

test('fail closed: with no bundle loaded every call is refused and nothing arrives', async () => {
  const before = payments.log.length;
  const named = await post(`${closed}/tools/payments/v1/charges`, { amount: 1 });
  assert.equal(named.status, 503);
  assert.equal(((await named.json()) as any).error.code, ErrorCodes.POLICY_NO_BUNDLE);
  const proxied = await new Promise<number>((resolve, reject) => {
    import('node:http').then(({ request }) => {
      const u = new URL(closed);
      const req = request({ host: u.hostname, port: u.port, path: `${payments.url}/v1/charges`, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
  });
  assert.equal(proxied, 503);
  assert.equal(payments.log.length, before);
});

test('evidence: every decision has a durable intent before its outcome, and the chain verifies', async () => {
  // Outcomes are written once each call ends: read until every intent has its outcome.
  const read = async (): Promise<any[]> => (await readFile(join(dir, 'ledger.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const complete = (ls: any[]): boolean => {
    const done = new Set(ls.filter((l) => l.kind === 'outcome').map((l) => l.record.decisionId));
    // A held call's escalate intent is followed by the intent of its verdict, which has the outcome.
    return ls.filter((l) => l.kind === 'intent' && l.record.enforcedEffect !== 'escalate').every((l) => done.has(l.record.decisionId));
  };
  const lines = await until(async () => {
    const ls = await read();
    return complete(ls) ? ls : undefined;
  }, 'every intent to have its outcome');
  const intents = lines.filter((l) => l.kind === 'intent').map((l) => l.record);
  const denied = intents.find((r) => r.input.action.mcp?.name === 'write_file' && r.input.action.mcp.arguments.path === '/prod/config.yaml');
  assert.equal(denied.effect, 'deny');
  assert.equal(denied.errorCode, ErrorCodes.DENIED);
  assert.match(denied.policyDigest, /^sha256:[0-9a-f]{64}$/);
  const computed = intents.find((r) => r.effect === 'compute');
  assert.equal(computed.rewritten.input.action.http.path, '/v1/dry-run/deployments');
  const approvedCharge = intents.find((r) => r.input.context.approval?.approver === 'alice');
  assert.equal(approvedCharge.enforcedEffect, 'allow');
  const seqOf = (kind: string, id: string): number => lines.find((l) => l.kind === kind && l.record.decisionId === id)?.seq;
  assert.ok(seqOf('intent', approvedCharge.decisionId) < seqOf('outcome', approvedCharge.decisionId));
  const report = await verifyLedger([join(dir, 'ledger.jsonl')]);
  assert.equal(report.ok, true, JSON.stringify(report.findings));
});
