/**
 * Hostile and broken input: each gets a clear error and a recorded decision,
 * the upstream sees nothing it should not, and the sidecar keeps serving.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { ErrorCodes } from '../../src/errors.ts';
import type { EvidenceRecorder, IntentRecord } from '../../src/evidence/recorder.ts';
import { canonicalInput } from '../../src/evidence/hash.ts';
import type { KnownCanonical } from '../../src/evidence/canonical.ts';

let upstream: LoggingUpstream;
let other: LoggingUpstream;
let sidecar: RunningSidecar;
const intents: IntentRecord[] = [];
const knowns: Array<KnownCanonical | undefined> = [];
const inputs: any[] = [];

const recorder: EvidenceRecorder = {
  intent: async (r, known) => (intents.push(r), knowns.push(known), { seq: intents.length, hash: '' }),
  outcome: async () => undefined,
  head: () => undefined,
  close: async () => undefined,
};

const policy = (input: any): unknown => {
  inputs.push(input);
  const a = input.action;
  if (a.type === 'connect') return a.http.port === 443 ? { effect: 'deny', reason: 'no 443' } : { effect: 'allow', reason: 'tunnel ok' };
  if (a.type === 'mcp') return { effect: 'allow', reason: 'mcp ok' };
  if (a.http.path === '/hold') return { effect: 'escalate', reason: 'needs a human', escalation: { approvers: [], timeoutSeconds: 1 } };
  return { effect: 'allow', reason: 'ok' };
};

before(async () => {
  other = await startUpstream();
  upstream = await startUpstream((a, res) => {
    if (a.url === '/redirect') {
      res.writeHead(302, { location: `${other.origin}/stolen` });
      return res.end();
    }
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  const engine = functionEngine(policy, undefined, [{ name: 'fs', kind: 'mcp', url: `${upstream.origin}/mcp` }]);
  const { LocalApprovalBroker } = await import('../../src/sidecar/local-approvals.ts');
  sidecar = await startSidecar({ engine, recorder, approvals: new LocalApprovalBroker() }, { headersTimeoutMs: '300', requestTimeoutMs: '600' });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
  await other.close();
});

function raw(port: number, text: string, opts: { end?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(text);
      if (opts.end) s.end();
    });
    let out = '';
    s.on('data', (c) => (out += c.toString()));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

// Refusals are recorded before they are answered: once the answer is read, the record is there.
const recordedWith = (code: string): boolean => intents.some((r) => r.errorCode === code && r.effect === 'deny');

test('Content-Length with Transfer-Encoding is refused as a smuggling attempt, and recorded', async () => {
  const n = upstream.log.length;
  const out = await raw(sidecar.port, `POST ${upstream.origin}/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n`);
  assert.match(out, /^HTTP\/1.1 400/);
  assert.match(out, /PORTCULLIS_BAD_REQUEST/);
  assert.equal(upstream.log.length, n);
  assert.ok(recordedWith(ErrorCodes.BAD_REQUEST));
});

test('a slow client is cut off with 408 and recorded', async () => {
  const out = await raw(sidecar.port, `GET ${upstream.origin}/slow HTTP/1.1\r\nHost: a\r\n`);
  assert.match(out, /^HTTP\/1.1 408/);
  assert.match(out, /PORTCULLIS_REQUEST_TIMEOUT/);
  assert.ok(recordedWith(ErrorCodes.REQUEST_TIMEOUT));
});

test('mixed-case and IP-literal hosts reach the policy in one spelling', async () => {
  const port = upstream.port;
  for (const host of [`0x7F.1:${port}`, `2130706433:${port}`]) {
    const r = await send(sidecar.port, { path: `http://${host}/read` });
    assert.equal(r.status, 200, host);
    assert.equal(inputs.at(-1).action.http.host, '127.0.0.1');
  }
  const r = await send(sidecar.port, { path: `HTTP://LocalHost.:1/read` });
  assert.equal(inputs.at(-1).action.http.host, 'localhost');
  assert.equal(r.status, 502);
});

test('a redirect to another host is returned, not followed', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/redirect` });
  assert.equal(r.status, 302);
  assert.equal(other.log.length, 0);
});

test('MCP: malformed JSON, invalid JSON-RPC and duplicate keys get JSON-RPC errors and are recorded', async () => {
  const n = upstream.log.length;
  const cases: Array<[string, number, string]> = [
    ['{"jsonrpc":"2.0",', -32700, ErrorCodes.BAD_REQUEST],
    ['{"jsonrpc":"1.0","id":1,"method":"tools/list"}', -32600, ErrorCodes.BAD_JSONRPC],
    ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"/tmp/a","path":"/prod/a"}}}', -32700, ErrorCodes.JSON_DUPLICATE_KEY],
  ];
  for (const [body, rpc, code] of cases) {
    const r = await send(sidecar.port, { method: 'POST', path: '/mcp/fs', headers: { 'content-type': 'application/json' }, body });
    assert.equal(r.status, 400, body);
    assert.equal(r.json().error.code, rpc, body);
    assert.equal(r.json().error.data.code, code, body);
    assert.ok(recordedWith(code), code);
  }
  assert.equal(upstream.log.length, n);
});

test('CONNECT is decided on host and port: a tunnel only when allowed', async () => {
  const denied = await raw(sidecar.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  assert.match(denied, /^HTTP\/1.1 403/);
  assert.match(denied, /no 443/);
  const tunnelled = await raw(sidecar.port, `CONNECT 127.0.0.1:${upstream.port} HTTP/1.1\r\nHost: x\r\n\r\nGET /through-tunnel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.match(tunnelled, /^HTTP\/1.1 200 Connection Established/);
  assert.match(tunnelled, /"ok":true/);
  assert.ok(upstream.log.some((a) => a.url === '/through-tunnel'));
  // Anything that is not HTTP (a TLS handshake) is relayed as it is: here the plain upstream refuses it.
  const opaque = await raw(sidecar.port, `CONNECT 127.0.0.1:${upstream.port} HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01\x00\x05hello`);
  assert.match(opaque, /^HTTP\/1.1 200 Connection Established\r\n\r\nHTTP\/1.1 400/);
});

test('an escalation nobody answers is denied when it expires', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/hold` });
  assert.equal(r.status, 403);
  assert.equal(r.json().error.code, ErrorCodes.ESCALATION_TIMEOUT);
  // The agent's error names the approval it waited for and where a person decides it.
  const { approvalId, approvalUrl, decisionId } = r.json().error;
  assert.ok(approvalId && approvalId !== decisionId, 'the held decision, not the final one');
  assert.equal(new URL(approvalUrl).pathname, '/approvals/');
  assert.equal(new URL(approvalUrl).searchParams.get('id'), approvalId);
  assert.match(r.json().error.message, /can still be decided at http/);
  assert.ok(!upstream.log.some((a) => a.url === '/hold'));
});

test('after all that, the sidecar still serves', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/still-here` });
  assert.equal(r.status, 200);
});

test('every intent comes with the canonical text of its input, computed once for the hash', () => {
  assert.ok(intents.length > 0);
  intents.forEach((r, i) => {
    const text = knowns[i]?.get(r.input);
    assert.ok(text !== undefined, `intent ${r.decisionId} has no canonical input`);
    assert.equal(text, canonicalInput(r.input).canonical);
    assert.equal(canonicalInput(r.input).hash, r.inputHash);
  });
});
