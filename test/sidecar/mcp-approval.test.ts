/**
 * Approval, MCP-native (2026-07-28 multi round-trip requests): a tools/call
 * that needs approval is answered at once with an InputRequiredResult whose
 * URL elicitation names the approval, and a requestState that binds the call.
 * The retry with that state, after approval, runs the call exactly once; a
 * changed call, a replayed or forged state, and a rejection are refused. A
 * real 2.x client (its multi round-trip driver and URL elicitation handler)
 * and a real 2.x server, whose own record shows what ran.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startSidecar, send, type RunningSidecar, type Reply } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { LocalApprovalBroker } from '../../src/sidecar/local-approvals.ts';
import { ErrorCodes } from '../../src/errors.ts';

let upstream: McpUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;
let broker: LocalApprovalBroker;

before(async () => {
  upstream = await startMcpUpstream('v2');
  const engine = functionEngine(
    (input) => {
      const m = input.action.mcp;
      if (m.method !== 'tools/call' || m.name !== 'delete_all') return { effect: 'allow', reason: 'harmless' };
      if (input.context.approval?.verdict === 'approved') return { effect: 'allow', reason: 'approved' };
      return { effect: 'escalate', reason: 'deleting everything needs a person', escalation: { approvers: ['user:alice'], timeoutSeconds: 60 } };
    },
    undefined,
    [{ name: 'srv', kind: 'mcp', url: upstream.url }],
  );
  recorder = memoryRecorder();
  broker = new LocalApprovalBroker();
  sidecar = await startSidecar({ engine, recorder, approvals: broker });
});
after(async () => {
  await sidecar?.close();
  await upstream?.close();
});

const ranDeletes = (): number => upstream.calls.filter((c) => c.name === 'delete_all').length;

test('a 2.x client shows the approval URL; once approved, its retry runs the call exactly once', async () => {
  const urls: string[] = [];
  const client = new Client({ name: 'approving-agent', version: '2.0.0' }, { capabilities: { elicitation: { url: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } });
  client.setRequestHandler('elicitation/create', async (req) => {
    const params = req.params as { mode?: string; url?: string };
    assert.equal(params.mode, 'url');
    urls.push(params.url!);
    // The person opens the URL and approves; then the client is told it is done.
    broker.decide(new URL(params.url!).searchParams.get('id')!, 'approved', 'alice');
    return { action: 'accept' as const };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${sidecar.port}/mcp/srv`)));
  const before = ranDeletes();
  const r = (await client.callTool({ name: 'delete_all', arguments: {} })) as { content: unknown };
  assert.deepEqual(r.content, [{ type: 'text', text: 'delete_all {}' }]);
  assert.equal(urls.length, 1);
  assert.equal(ranDeletes(), before + 1, 'ran exactly once');
  // The server saw the call, not the gate's round.
  const arrival = upstream.arrivals.findLast((a) => a.body.includes('"delete_all"'))!;
  assert.equal('requestState' in JSON.parse(arrival.body).params, false);
  await client.close();
});

const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } } };
let nextId = 100;
function callDelete(extra: Record<string, unknown> = {}, args: Record<string, unknown> = {}): Promise<Reply> {
  return send(sidecar.port, {
    method: 'POST',
    path: '/mcp/srv',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'delete_all' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name: 'delete_all', arguments: args, _meta: meta, ...extra } }),
  });
}
const bodyOf = (r: Reply): any => {
  const t = r.body.trim();
  return t.startsWith('{') ? JSON.parse(t) : JSON.parse(t.split('\n').find((l) => l.startsWith('data: {'))!.slice(6));
};

test('the wire: pending until decided; a changed call, a replay and a forged state are refused and never run', async () => {
  const first = bodyOf(await callDelete());
  assert.equal(first.result.resultType, 'input_required');
  const { requestState } = first.result;
  const url = new URL(first.result.inputRequests.approval.params.url);
  const id = url.searchParams.get('id')!;
  assert.equal(url.pathname, '/approvals/', 'the URL opens the approval page on this call');
  assert.match(requestState, /^portcullis\.v1\./);
  const answer = { inputResponses: { approval: { action: 'accept' } }, requestState };

  const pending = bodyOf(await callDelete(answer));
  assert.equal(pending.result.resultType, 'input_required', 'no verdict yet: asked again');
  broker.decide(id, 'approved', 'alice');

  const before = ranDeletes();
  const changed = await callDelete(answer, { everything: true });
  assert.equal(changed.status, 400);
  assert.equal(changed.json().error.data.code, ErrorCodes.MRTR_STATE_INVALID);
  const forged = await callDelete({ ...answer, requestState: requestState.slice(0, -2) + (requestState.endsWith('A') ? 'BB' : 'AA') });
  assert.equal(forged.json().error.data.code, ErrorCodes.MRTR_STATE_INVALID);
  assert.equal(ranDeletes(), before);

  const ok = bodyOf(await callDelete(answer));
  assert.deepEqual(ok.result.content, [{ type: 'text', text: 'delete_all {}' }]);
  assert.equal(ranDeletes(), before + 1);

  const replay = bodyOf(await callDelete(answer));
  assert.equal(replay.error.data.code, ErrorCodes.MRTR_STATE_INVALID, 'the approval answered one retry');
  assert.equal(ranDeletes(), before + 1);
  assert.ok(recorder.intents.some((i) => i.errorCode === ErrorCodes.APPROVAL_PENDING), 'the pending rounds are recorded');
});

test('a rejected approval ends the call', async () => {
  const first = bodyOf(await callDelete());
  const id = new URL(first.result.inputRequests.approval.params.url).searchParams.get('id')!;
  broker.decide(id, 'rejected', 'alice');
  const before = ranDeletes();
  const r = bodyOf(await callDelete({ inputResponses: { approval: { action: 'accept' } }, requestState: first.result.requestState }));
  assert.equal(r.error.data.code, ErrorCodes.ESCALATION_REJECTED);
  assert.equal(ranDeletes(), before);
});

test('the URL a client is shown: PORTCULLIS_APPROVAL_PAGE_URL, else the controller\'s page when the gate follows one, else the admin port', async () => {
  const { approvalRequired } = await import('../../src/sidecar/mcp-approval.ts');
  const { PortcullisError } = await import('../../src/errors.ts');
  const { loadConfig } = await import('../../src/config/config.ts');
  const pending = new PortcullisError(ErrorCodes.APPROVAL_PENDING, 'waits', { approvalId: 'a-1', expiresAt: new Date(Date.now() + 60_000).toISOString() });
  const action = { type: 'mcp', tool: 'delete_all', mcp: { server: 'srv', method: 'tools/call', name: 'delete_all', arguments: {} } } as any;
  const urlFor = (env: Record<string, string>): string => {
    const ctx = { config: loadConfig(env, {}), engine: { current: () => ({ digest: 'sha256:d' }) } } as any;
    return (approvalRequired(ctx, { jsonrpc: '2.0', id: 1, method: 'tools/call' }, action, pending) as any).result.inputRequests.approval.params.url;
  };
  assert.equal(urlFor({}), 'http://127.0.0.1:7071/approvals/?id=a-1');
  assert.equal(urlFor({ PORTCULLIS_CONTROLLER_URL: 'http://portcullis-controller.portcullis-system.svc:8080' }), 'http://portcullis-controller.portcullis-system.svc:8080/approvals/?id=a-1');
  assert.equal(urlFor({ PORTCULLIS_CONTROLLER_URL: 'http://c:8080', PORTCULLIS_APPROVAL_PAGE_URL: 'https://approvals.example.com/approvals/' }), 'https://approvals.example.com/approvals/?id=a-1');
});
