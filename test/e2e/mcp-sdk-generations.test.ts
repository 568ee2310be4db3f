/**
 * Both MCP generations through the gate, unmodified, as client and as server:
 * the 1.x SDK (2025 revisions, stateless and with sessions) and the 2.x SDK
 * (2026-07-28, stateless, `_meta` on every request, and the 2025 revisions
 * on the same endpoint), in every combination the protocol allows. A Rego
 * policy compiled by the real compiler allows the protocol and `echo`, and
 * denies `delete_all`; each upstream's own records show what arrived and
 * what ran, and the recorded inputs which revision was spoken.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { startSidecar, type RunningSidecar } from '../sidecar/helpers.ts';
import { memoryRecorder, type MemoryRecorder } from '../sidecar/memory-recorder.ts';
import { startMcpUpstream, type McpServerKind, type McpUpstream } from '../support/mcp-upstreams.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { readBundleDir } from '../../src/policy/bundle-dir.ts';
import { selectCompiler } from '../../src/policy/compiler.ts';
import { startDemoFsServer } from '../../src/demo/fs-mcp-server.ts';
import { shippedBundle, withTools } from './shipped-bundle.ts';

const POLICY = `package portcullis

import rego.v1

default decision := {"effect": "deny", "reason": "not allowed"}

decision := {"effect": "allow", "reason": "MCP protocol"} if input.action.mcp.method != "tools/call"

decision := {"effect": "allow", "reason": "echo is harmless"} if input.action.mcp.name == "echo"
`;

const SERVERS: McpServerKind[] = ['v1-stateless', 'v1-sessions', 'v2'];
const upstreams = new Map<McpServerKind, McpUpstream>();
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;
let dir: string;

before(async () => {
  for (const kind of SERVERS) upstreams.set(kind, await startMcpUpstream(kind));
  dir = await mkdtemp(join(tmpdir(), 'portcullis-mcp-generations-'));
  await writeFile(join(dir, 'policy.rego'), POLICY);
  await writeFile(join(dir, 'portcullis.yaml'), 'tools:\n' + SERVERS.map((k) => `  - { name: ${k}, kind: mcp, url: "${upstreams.get(k)!.url}" }\n`).join(''));
  const engine = new OpaWasmEngine();
  await engine.load(await (await selectCompiler(process.env)).compile(await readBundleDir(dir)));
  recorder = memoryRecorder();
  sidecar = await startSidecar({ engine, recorder });
});
after(async () => {
  await sidecar?.close();
  await Promise.all([...upstreams.values()].map((u) => u.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

type ClientKind = 'v1' | 'v2-legacy' | 'v2-auto' | 'v2-pinned';

interface Connected {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(p: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

async function connect(client: ClientKind, server: McpServerKind): Promise<Connected> {
  const url = new URL(`http://127.0.0.1:${sidecar.port}/mcp/${server}`);
  if (client === 'v1') {
    const c = new ClientV1({ name: 'agent-v1', version: '1.0.0' });
    await c.connect(new TransportV1(url));
    return c as unknown as Connected;
  }
  const mode = client === 'v2-legacy' ? 'legacy' : client === 'v2-auto' ? 'auto' : { pin: '2026-07-28' };
  const c = new ClientV2({ name: `agent-${client}`, version: '2.0.0' }, { versionNegotiation: { mode } });
  await c.connect(new TransportV2(url));
  return c as unknown as Connected;
}

/** The combinations the protocol allows, and the revision each speaks. */
const COMBINATIONS: [ClientKind, McpServerKind, string][] = [
  ['v1', 'v1-stateless', '2025-11-25'],
  ['v1', 'v1-sessions', '2025-11-25'],
  ['v1', 'v2', '2025-11-25'],
  ['v2-legacy', 'v1-stateless', '2025-11-25'],
  ['v2-legacy', 'v1-sessions', '2025-11-25'],
  ['v2-legacy', 'v2', '2025-11-25'],
  ['v2-auto', 'v1-stateless', '2025-11-25'],
  ['v2-auto', 'v1-sessions', '2025-11-25'],
  ['v2-auto', 'v2', '2026-07-28'],
  ['v2-pinned', 'v2', '2026-07-28'],
];

for (const [client, server, revision] of COMBINATIONS) {
  test(`${client} client → gate → ${server} server speaks ${revision}: echo runs, delete_all is denied and never runs`, async () => {
    const upstream = upstreams.get(server)!;
    const ran = upstream.calls.length;
    const intents = recorder.intents.length;
    const c = await connect(client, server);
    const listed = await c.listTools();
    assert.deepEqual(listed.tools.map((t) => t.name).sort(), ['delete_all', 'echo']);
    const ok = (await c.callTool({ name: 'echo', arguments: { text: client } })) as { content: unknown };
    assert.deepEqual(ok.content, [{ type: 'text', text: `echo {"text":"${client}"}` }]);
    await assert.rejects(c.callTool({ name: 'delete_all', arguments: {} }), (e: any) => e.code === -32001 && /not allowed/.test(e.message));
    await c.close();
    assert.deepEqual(upstream.calls.slice(ran).map((x) => x.name), ['echo'], 'the upstream ran echo only');
    const calls = recorder.intents.slice(intents).map((i) => (i.input as any).action.mcp).filter((m) => m.method === 'tools/call');
    assert.deepEqual(calls.map((m) => [m.name, m.protocolVersion]), [['echo', revision], ['delete_all', revision]]);
    if (revision === '2026-07-28') {
      for (const m of calls) assert.equal(m.clientInfo.name, `agent-${client}`, 'every 2026-07-28 request names its client');
      const echo = upstream.arrivals.findLast((a) => a.body.includes('"echo"'))!;
      assert.equal(echo.headers['mcp-protocol-version'], '2026-07-28');
      assert.equal(JSON.parse(echo.body).params._meta['io.modelcontextprotocol/protocolVersion'], '2026-07-28');
    }
  });
}

test('a client pinned to 2026-07-28 cannot speak to a 1.x server, through the gate as directly: the protocol does not allow it', async () => {
  for (const url of [upstreams.get('v1-stateless')!.url, `http://127.0.0.1:${sidecar.port}/mcp/v1-stateless`]) {
    const c = new ClientV2({ name: 'pinned', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await assert.rejects(c.connect(new TransportV2(new URL(url))));
  }
});

test('the shipped policies let a 2.x client probe with server/discover: 2026-07-28 to a 2.x server, and 2025 to the 1.x demo filesystem', async () => {
  const fs = await startDemoFsServer();
  const modern = upstreams.get('v2')!;
  const engine = new OpaWasmEngine();
  const shipped = await shippedBundle();
  await engine.load(withTools(shipped, { fs: fs.url }));
  const legacyGate = await startSidecar({ engine });
  const modernEngine = new OpaWasmEngine();
  await modernEngine.load(withTools(shipped, { fs: modern.url }));
  const modernGate = await startSidecar({ engine: modernEngine });
  try {
    const auto = new ClientV2({ name: 'shipped-auto', version: '2.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await auto.connect(new TransportV2(new URL(`http://127.0.0.1:${legacyGate.port}/mcp/fs`)));
    const read = await auto.callTool({ name: 'read_file', arguments: { path: '/workspace/README.md' } });
    assert.deepEqual(read.content, [{ type: 'text', text: '# workspace\n' }]);
    await auto.close();

    const arrived = modern.arrivals.length;
    const pinned = new ClientV2({ name: 'shipped-pinned', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await pinned.connect(new TransportV2(new URL(`http://127.0.0.1:${modernGate.port}/mcp/fs`)));
    const listed = await pinned.listTools();
    assert.deepEqual(listed.tools.map((t) => t.name).sort(), ['delete_all', 'echo']);
    await pinned.close();
    assert.deepEqual(modern.arrivals.slice(arrived).map((a) => JSON.parse(a.body).method), ['server/discover', 'tools/list']);
  } finally {
    await legacyGate.close();
    await modernGate.close();
    await fs.close();
  }
});
