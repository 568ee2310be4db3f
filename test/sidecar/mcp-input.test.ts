/**
 * The policy input of MCP calls carries the protocol version, the client's
 * info and capabilities, the MCP headers and the session: a Rego policy
 * (the example of docs/policy-authoring.md, compiled by the real compiler)
 * decides on them, for a 1.x client in a 2025-11-25 session and a 2.x client
 * speaking stateless 2026-07-28, each against a real server of its SDK.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { startSidecar, send, type RunningSidecar } from './helpers.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { readBundleDir } from '../../src/policy/bundle-dir.ts';
import { selectCompiler } from '../../src/policy/compiler.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { CreateMessageRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

let sessions: McpUpstream;
let modern: McpUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;
let dir: string;

/** The Rego of the docs' example, taken from the docs so the two cannot drift apart. */
async function docsPolicy(): Promise<string> {
  const doc = await readFile(new URL('../../docs/policy-authoring.md', import.meta.url), 'utf8');
  const m = /<!-- mcp-client-policy -->\s*```rego\n([\s\S]*?)```/.exec(doc);
  assert.ok(m, 'docs/policy-authoring.md shows the MCP client policy');
  return m[1]!;
}

before(async () => {
  [sessions, modern] = await Promise.all([startMcpUpstream('v1-sessions'), startMcpUpstream('v2')]);
  dir = await mkdtemp(join(tmpdir(), 'portcullis-mcp-input-'));
  await writeFile(join(dir, 'mcp_clients.rego'), await docsPolicy());
  await writeFile(join(dir, 'portcullis.yaml'), `tools:\n  - { name: fs, kind: mcp, url: "${sessions.url}" }\n  - { name: modern, kind: mcp, url: "${modern.url}" }\n`);
  const engine = new OpaWasmEngine();
  await engine.load(await (await selectCompiler(process.env)).compile(await readBundleDir(dir)));
  recorder = memoryRecorder();
  sidecar = await startSidecar({ engine, recorder });
});
after(async () => {
  await sidecar?.close();
  await Promise.all([sessions?.close(), modern?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const mcpOf = (i: { input: unknown }): any => (i.input as any).action.mcp;

test('a 2025-11-25 client in a session: initialize carries version, client info and capabilities; later calls the session and headers', async () => {
  const from = recorder.intents.length;
  const client = new ClientV1({ name: 'session-agent', version: '1.2.3' }, { capabilities: { roots: {} } });
  await client.connect(new TransportV1(new URL(`http://127.0.0.1:${sidecar.port}/mcp/fs`)));
  const r = await client.callTool({ name: 'delete_all', arguments: {} });
  assert.equal(r.isError, undefined);
  await client.close();
  const inputs = recorder.intents.slice(from).map(mcpOf);
  const init = inputs.find((m) => m.method === 'initialize');
  assert.equal(init.protocolVersion, '2025-11-25');
  assert.deepEqual(init.clientInfo, { name: 'session-agent', version: '1.2.3' });
  assert.deepEqual(init.clientCapabilities, { roots: {} });
  const call = inputs.find((m) => m.method === 'tools/call');
  // The session the upstream gave, as its own record shows it.
  const sid = sessions.arrivals.find((a) => a.body.includes('"tools/call"'))!.headers['mcp-session-id'];
  assert.ok(typeof sid === 'string' && sid.length > 0);
  assert.equal(call.sessionId, sid);
  assert.equal(call.headers['mcp-session-id'], sid);
  assert.equal(call.protocolVersion, '2025-11-25', 'from the MCP-Protocol-Version header');
  assert.equal(call.clientInfo, undefined, 'a 2025 call after initialize does not carry the client');
  const decided = recorder.intents.slice(from).find((i) => mcpOf(i).method === 'tools/call')!;
  assert.equal(decided.reason, `tools in session ${sid}`);
  assert.deepEqual(sessions.calls.map((c) => c.name), ['delete_all']);
});

test('a 2026-07-28 client: every call carries version, client info and capabilities in _meta, and the MCP headers', async () => {
  const from = recorder.intents.length;
  const client = new ClientV2({ name: 'build-agent', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new TransportV2(new URL(`http://127.0.0.1:${sidecar.port}/mcp/modern`)));
  const ok = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
  assert.deepEqual(ok.content, [{ type: 'text', text: 'echo {"text":"hello"}' }]);
  await assert.rejects(client.callTool({ name: 'delete_all', arguments: {} }), (e: any) => /the build agent may only list and echo/.test(e.message) && e.code === -32001);
  await client.close();
  const calls = recorder.intents.slice(from).map(mcpOf).filter((m) => m.method === 'tools/call');
  assert.equal(calls.length, 2);
  for (const m of calls) {
    assert.equal(m.protocolVersion, '2026-07-28');
    assert.equal(m.clientInfo.name, 'build-agent');
    assert.equal(typeof m.clientCapabilities, 'object');
    assert.equal(m.headers['mcp-method'], 'tools/call');
    assert.equal(m.headers['mcp-name'], m.name);
    assert.equal(m.headers['mcp-protocol-version'], '2026-07-28');
    assert.equal(m.sessionId, undefined, 'stateless: no session');
  }
  assert.deepEqual(modern.calls.map((c) => c.name), ['echo'], 'the denied call never ran');
});

test('a revision the policy does not accept is denied on the version initialize asks for', async () => {
  const arrived = sessions.arrivals.length;
  const r = await send(sidecar.port, {
    method: 'POST',
    path: '/mcp/fs',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'old', version: '0' } } }),
  });
  assert.equal(r.status, 200);
  assert.equal(r.json().error.data.code, ErrorCodes.DENIED);
  assert.match(r.json().error.message, /MCP 2024-11-05 is not a revision this gate accepts/);
  assert.equal(sessions.arrivals.length, arrived);
});

test('server requests: the policy lets the server ask for the roots, and refuses it the agent\'s model', async () => {
  const asked: string[] = [];
  const client = new ClientV1({ name: 'asked-agent', version: '1.0.0' }, { capabilities: { roots: {}, sampling: {} } });
  client.setRequestHandler(ListRootsRequestSchema, async () => (asked.push('roots'), { roots: [{ uri: 'file:///w' }] }));
  client.setRequestHandler(CreateMessageRequestSchema, async () => (asked.push('sampling'), { role: 'assistant' as const, content: { type: 'text' as const, text: 'x' }, model: 'm' }));
  await client.connect(new TransportV1(new URL(`http://127.0.0.1:${sidecar.port}/mcp/fs`)));
  const roots = (await client.callTool({ name: 'ask_roots', arguments: {} })) as { content: { text: string }[] };
  assert.match(roots.content[0]!.text, /^answered .*file:\/\/\/w/);
  const sampling = (await client.callTool({ name: 'ask_sampling', arguments: {} })) as { content: { text: string }[] };
  assert.match(sampling.content[0]!.text, /^refused .*servers may not ask for sampling\/createMessage/);
  await client.close();
  assert.deepEqual(asked, ['roots']);
});
