/**
 * MCP 2026-07-28 multi round-trip requests: a server asks the client for
 * roots or sampling inside a call's result (`InputRequiredResult`), and the
 * client retries the call with the answers. Each input request is an action
 * (`from: "server"`), decided and recorded; an allowed one reaches the
 * client's handler, a denied one never does and the call ends in the
 * refusal. Real 2.x client and server; the client's own handlers and the
 * server's record of what ran show what arrived where.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startSidecar, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { inputRequestsOf } from '../../src/gate/mcp-server-request.ts';

let upstream: McpUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;
let client: Client;
const asked: string[] = [];

before(async () => {
  upstream = await startMcpUpstream('v2');
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
  client = new Client({ name: 'asked-agent', version: '2.0.0' }, { capabilities: { roots: {}, sampling: {} }, versionNegotiation: { mode: { pin: '2026-07-28' } } });
  client.setRequestHandler('roots/list', async () => {
    asked.push('roots/list');
    return { roots: [{ uri: 'file:///workspace', name: 'workspace' }] };
  });
  client.setRequestHandler('sampling/createMessage', async () => {
    asked.push('sampling/createMessage');
    return { role: 'assistant' as const, content: { type: 'text' as const, text: 'a summary' }, model: 'm' };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${sidecar.port}/mcp/asks`)));
});
after(async () => {
  await client?.close();
  await sidecar?.close();
  await upstream?.close();
});

const serverIntents = (from: number): any[] => recorder.intents.slice(from).filter((i) => (i.input as any).action.mcp.from === 'server');

test('an allowed input request (roots) is decided and recorded; the client answers it and the retried call runs', async () => {
  const from = recorder.intents.length;
  asked.length = 0;
  const r = (await client.callTool({ name: 'ask_roots', arguments: {} })) as { content: { text: string }[] };
  assert.deepEqual(asked, ['roots/list']);
  assert.match(r.content[0]!.text, /^answered .*file:\/\/\/workspace/);
  const [intent] = serverIntents(from);
  assert.ok(intent, 'the input request is a recorded decision');
  assert.equal(intent.effect, 'allow');
  assert.deepEqual([(intent.input as any).action.mcp.method, (intent.input as any).action.mcp.id], ['roots/list', 'q']);
  assert.equal((intent.input as any).action.mcp.protocolVersion, '2026-07-28');
  assert.deepEqual(upstream.calls.map((c) => c.name), ['ask_roots']);
});

test('a denied input request (sampling) never reaches the client; the call ends in the refusal and never runs', async () => {
  const from = recorder.intents.length;
  const ran = upstream.calls.length;
  asked.length = 0;
  await assert.rejects(client.callTool({ name: 'ask_sampling', arguments: {} }), (e: any) => e.code === -32001 && /may not use the agent's model/.test(e.message));
  assert.deepEqual(asked, [], 'the client was never asked');
  assert.equal(upstream.calls.length, ran, 'the retried call never came');
  const [intent] = serverIntents(from);
  assert.equal(intent.effect, 'deny');
  assert.equal((intent.input as any).action.mcp.params.maxTokens, 16);
  assert.equal((await recorder.outcomeFor(intent.decisionId)).errorCode, ErrorCodes.DENIED);
});

test('input requests are read from input-required results only', () => {
  assert.deepEqual(inputRequestsOf({ jsonrpc: '2.0', id: 4, result: { resultType: 'input_required', inputRequests: { a: { method: 'roots/list' }, b: { nope: 1 } } } }), {
    id: 4,
    requests: [{ id: 'a', method: 'roots/list' }, { id: 'b', method: '$invalid' }],
  });
  assert.equal(inputRequestsOf({ jsonrpc: '2.0', id: 4, result: { content: [] } }), undefined);
  assert.equal(inputRequestsOf({ jsonrpc: '2.0', method: 'x' }), undefined);
});
