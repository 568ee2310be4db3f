/**
 * Requests an MCP server sends to the client on a response stream (2025
 * revisions: roots, sampling, elicitation) are actions too: each is decided
 * and recorded with `from: "server"`. An allowed one reaches the agent's
 * client; a denied one never does, and the server gets the refusal as the
 * client's reply. Real 1.x client and server with a session; the client's
 * own handlers and the server's own request log show what arrived where.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startSidecar, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { serverRequestOf } from '../../src/gate/mcp-server-request.ts';

let upstream: McpUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;
let client: Client;
const asked: string[] = [];

before(async () => {
  upstream = await startMcpUpstream('v1-sessions');
  const engine = functionEngine(
    (input) => {
      const m = input.action.mcp;
      if (m.from === 'server' && m.method === 'sampling/createMessage') return { effect: 'deny', reason: 'this server may not use the agent\'s model' };
      return { effect: 'allow', reason: m.from === 'server' ? `server may ask ${m.method}` : 'agent call' };
    },
    undefined,
    [{ name: 'asks', kind: 'mcp', url: upstream.url }],
  );
  recorder = memoryRecorder();
  sidecar = await startSidecar({ engine, recorder });
  client = new Client({ name: 'asked-agent', version: '1.0.0' }, { capabilities: { roots: {}, sampling: {} } });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    asked.push('roots/list');
    return { roots: [{ uri: 'file:///workspace', name: 'workspace' }] };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async () => {
    asked.push('sampling/createMessage');
    return { role: 'assistant', content: { type: 'text', text: 'a summary' }, model: 'm' };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${sidecar.port}/mcp/asks`)));
});
after(async () => {
  await client?.close();
  await sidecar?.close();
  await upstream?.close();
});

const serverIntents = (from: number): any[] => recorder.intents.slice(from).filter((i) => (i.input as any).action.mcp.from === 'server');

test('an allowed server request (roots/list) is decided, recorded and reaches the client, whose answer reaches the server', async () => {
  const from = recorder.intents.length;
  asked.length = 0;
  const r = (await client.callTool({ name: 'ask_roots', arguments: {} })) as { content: { text: string }[] };
  assert.deepEqual(asked, ['roots/list']);
  assert.match(r.content[0]!.text, /^answered .*file:\/\/\/workspace/);
  const [intent] = serverIntents(from);
  assert.ok(intent, 'the server request is a recorded decision');
  assert.equal(intent.effect, 'allow');
  assert.equal(intent.reason, 'server may ask roots/list');
  assert.equal((intent.input as any).action.mcp.method, 'roots/list');
  assert.equal(typeof (intent.input as any).action.mcp.sessionId, 'string');
  assert.equal((intent.input as any).action.mcp.headers, undefined, 'the agent\'s request headers name the agent\'s call, not this one');
  const outcome = await recorder.outcomeFor(intent.decisionId);
  assert.equal(outcome.errorCode, undefined);
});

test('a denied server request (sampling) never reaches the client; the server gets the refusal as the reply', async () => {
  const from = recorder.intents.length;
  const arrived = upstream.arrivals.length;
  asked.length = 0;
  const r = (await client.callTool({ name: 'ask_sampling', arguments: {} })) as { content: { text: string }[]; isError?: boolean };
  assert.deepEqual(asked, [], 'the client was never asked');
  assert.equal(r.isError, true);
  const refusal = JSON.parse(r.content[0]!.text.replace(/^refused /, ''));
  assert.equal(refusal.code, -32001);
  assert.equal(refusal.data.code, ErrorCodes.DENIED);
  assert.match(refusal.message, /may not use the agent's model/);
  const [intent] = serverIntents(from);
  assert.equal(intent.effect, 'deny');
  assert.deepEqual((intent.input as any).action.mcp.params.maxTokens, 16);
  const outcome = await recorder.outcomeFor(intent.decisionId);
  assert.equal(outcome.errorCode, ErrorCodes.DENIED);
  // The server's own log: the refusal arrived as a JSON-RPC error, in the session.
  const replies = upstream.arrivals.slice(arrived).filter((a) => a.method === 'POST' && JSON.parse(a.body).error);
  assert.equal(replies.length, 1);
  assert.equal(JSON.parse(replies[0]!.body).error.data.decisionId, intent.decisionId);
  assert.equal(typeof replies[0]!.headers['mcp-session-id'], 'string');
});

test('only requests in data lines are server requests', () => {
  assert.deepEqual(serverRequestOf('data: {"jsonrpc":"2.0","id":3,"method":"roots/list"}'), { id: 3, method: 'roots/list' });
  assert.equal(serverRequestOf('data: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}'), undefined);
  assert.equal(serverRequestOf('data: {"jsonrpc":"2.0","id":3,"result":{"method":"x"}}'), undefined);
  assert.equal(serverRequestOf('id: {"method":"x","id":1}'), undefined);
  assert.equal(serverRequestOf('data: not json "method" "id"'), undefined);
});

test('the evidence of the calls: a stream passed whole has one hash; a stream with a request taken out keeps the upstream\'s beside it', async () => {
  const callOutcome = async (name: string) => {
    const intent = recorder.intents.find((i) => (i.input as any).action.mcp.method === 'tools/call' && (i.input as any).action.mcp.name === name)!;
    return recorder.outcomeFor(intent.decisionId);
  };
  const roots = await callOutcome('ask_roots');
  assert.match(String(roots.outputHash), /^sha256:/);
  assert.equal(roots.upstreamOutputHash, undefined);
  const sampling = await callOutcome('ask_sampling');
  assert.match(String(sampling.upstreamOutputHash), /^sha256:/);
  assert.notEqual(sampling.upstreamOutputHash, sampling.outputHash);
});
