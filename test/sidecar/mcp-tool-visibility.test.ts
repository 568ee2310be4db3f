/**
 * Tools the policy would never allow are hidden from `tools/list`: a bundle
 * with the entrypoint `portcullis/tool_visible` (real Rego, real compiler)
 * decides per listed tool; clients of both SDK generations, each against a
 * real server of its SDK, see the shortened list, marked uncacheable. A
 * bundle without the entrypoint lists every tool.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { startSidecar, send, type RunningSidecar } from './helpers.ts';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { readBundleDir } from '../../src/policy/bundle-dir.ts';
import { selectCompiler } from '../../src/policy/compiler.ts';
import { filterToolListMessage } from '../../src/gate/tool-visibility.ts';

const DECISION = `package portcullis

import rego.v1

default decision := {"effect": "allow", "reason": "all calls, to show what listing alone hides"}
`;

const VISIBLE = `package portcullis

import rego.v1

# Shown unless the tool's own description says it destroys, or its name is on the list.
hidden_names := {"delete_all"}

default tool_visible := false

tool_visible if {
	not hidden_names[input.action.mcp.name]
	not contains(lower(object.get(input.action.mcp.definition, "description", "")), "delete")
}
`;

let v1: McpUpstream;
let v2: McpUpstream;
let filtering: RunningSidecar;
let plain: RunningSidecar;
const dirs: string[] = [];

async function bundle(files: Record<string, string>): Promise<OpaWasmEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-tool-visible-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const engine = new OpaWasmEngine();
  await engine.load(await (await selectCompiler(process.env)).compile(await readBundleDir(dir)));
  return engine;
}

before(async () => {
  [v1, v2] = await Promise.all([startMcpUpstream('v1-sessions'), startMcpUpstream('v2')]);
  const catalog = `tools:\n  - { name: old, kind: mcp, url: "${v1.url}" }\n  - { name: new, kind: mcp, url: "${v2.url}" }\n`;
  filtering = await startSidecar({
    engine: await bundle({ 'decision.rego': DECISION, 'visible.rego': VISIBLE, 'portcullis.yaml': `entrypoints: [portcullis/decision, portcullis/tool_visible]\n${catalog}` }),
  });
  plain = await startSidecar({ engine: await bundle({ 'decision.rego': DECISION, 'portcullis.yaml': catalog }) });
});
after(async () => {
  await filtering?.close();
  await plain?.close();
  await Promise.all([v1?.close(), v2?.close()]);
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

test('a 1.x client in a 2025 session sees only the tools the policy shows', async () => {
  const client = new ClientV1({ name: 'lister', version: '1.0.0' });
  await client.connect(new TransportV1(new URL(`http://127.0.0.1:${filtering.port}/mcp/old`)));
  const listed = await client.listTools();
  assert.deepEqual(listed.tools.map((t) => t.name), ['echo']);
  await client.close();
});

test('a 2.x client speaking 2026-07-28 sees only the shown tools, and the shortened list is uncacheable', async () => {
  const client = new ClientV2({ name: 'lister', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new TransportV2(new URL(`http://127.0.0.1:${filtering.port}/mcp/new`)));
  const listed = await client.listTools();
  assert.deepEqual(listed.tools.map((t) => t.name), ['echo']);
  await client.close();
  const raw = await send(filtering.port, {
    method: 'POST',
    path: '/mcp/new',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/list',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} } },
    }),
  });
  assert.equal(raw.status, 200, raw.body);
  const text = raw.body.trim();
  const message = text.startsWith('{') ? JSON.parse(text) : JSON.parse(text.split('\n').find((l) => l.startsWith('data: {'))!.slice(6));
  assert.deepEqual(message.result.tools.map((t: any) => t.name), ['echo']);
  assert.equal(message.result.ttlMs, 0);
  assert.equal(message.result.cacheScope, 'private');
});

test('without the entrypoint every tool is listed, unchanged', async () => {
  for (const route of ['old', 'new'] as const) {
    const client =
      route === 'old' ? new ClientV1({ name: 'lister', version: '1.0.0' }) : new ClientV2({ name: 'lister', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect((route === 'old' ? new TransportV1(new URL(`http://127.0.0.1:${plain.port}/mcp/old`)) : new TransportV2(new URL(`http://127.0.0.1:${plain.port}/mcp/new`))) as never);
    const listed = await client.listTools();
    assert.deepEqual(listed.tools.map((t: { name: string }) => t.name), ['echo', 'delete_all']);
    await client.close();
  }
});

test('the filter touches only tools/list results of the exchange, and an unshortened list keeps its cache hints', () => {
  const list = { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'a' }, { name: 'b' }], ttlMs: 60000, cacheScope: 'public' } };
  const hideB = (t: { name: string }): boolean => t.name !== 'b';
  assert.deepEqual(filterToolListMessage(list, new Set([1]), hideB), { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'a' }], ttlMs: 0, cacheScope: 'private' } });
  assert.equal(filterToolListMessage(list, new Set([2]), hideB), list, 'another request\'s result');
  assert.equal(filterToolListMessage(list, new Set([1]), () => true), list);
  const notification = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' };
  assert.equal(filterToolListMessage(notification, new Set([1]), hideB), notification);
});
