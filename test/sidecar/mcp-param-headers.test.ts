/**
 * `Mcp-Param-*` headers mirror the tool arguments the tool's definition marks
 * with `x-mcp-header`; where present they must say what the body says. A real
 * 2.x client that listed the tools through the gate sends them, and its call
 * goes through with them as it sent them (the upstream's own log of what
 * arrived); a header that disagrees with its argument, names one the body
 * lacks or the tool does not declare, or belongs to a tool the gate never saw
 * listed, is refused with nothing arriving upstream.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startSidecar, send, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { paramHeaderDeclarations } from '../../src/gate/mcp-param-headers.ts';

let upstream: McpUpstream;
let sidecar: RunningSidecar;

const DEPLOY = {
  name: 'deploy',
  description: 'Deploys to a region',
  inputSchema: {
    type: 'object' as const,
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      replicas: { type: 'integer', 'x-mcp-header': 'Replicas' },
      dryRun: { type: 'boolean', 'x-mcp-header': 'Dry-Run' },
      note: { type: 'string' },
    },
  },
};

before(async () => {
  upstream = await startMcpUpstream('v2');
  upstream.tools.push(DEPLOY as never);
  const engine = functionEngine(() => ({ effect: 'allow', reason: 'anything' }), undefined, [{ name: 'srv', kind: 'mcp', url: upstream.url }]);
  sidecar = await startSidecar({ engine });
});
after(async () => {
  await sidecar?.close();
  await upstream?.close();
});

const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };
const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28' };
let nextId = 1;

function post(headers: Record<string, string>, method: string, params: Record<string, unknown>): ReturnType<typeof send> {
  return send(sidecar.port, {
    method: 'POST',
    path: '/mcp/srv',
    headers: { ...base, 'mcp-method': method, ...(typeof params.name === 'string' ? { 'mcp-name': params.name } : {}), ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: meta } }),
  });
}

const deployCalls = (): number => upstream.arrivals.filter((a) => a.body.includes('"deploy"') && a.body.includes('tools/call')).length;

test('a 2.x client that listed the tools through the gate sends Mcp-Param headers, and its call arrives with them', async () => {
  const client = new Client({ name: 'agent', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${sidecar.port}/mcp/srv`)));
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === 'deploy'));
  const r = (await client.callTool({ name: 'deploy', arguments: { region: 'eu-west-1', replicas: 3, dryRun: false, note: 'n' } })) as { content: unknown };
  assert.deepEqual(r.content, [{ type: 'text', text: 'deploy {"region":"eu-west-1","replicas":3,"dryRun":false,"note":"n"}' }]);
  const arrival = upstream.arrivals.findLast((a) => a.body.includes('"deploy"') && a.body.includes('tools/call'))!;
  assert.equal(arrival.headers['mcp-param-region'], 'eu-west-1');
  assert.equal(arrival.headers['mcp-param-replicas'], '3');
  assert.equal(arrival.headers['mcp-param-dry-run'], 'false');
  await client.close();
});

test('headers that agree pass: plain, Base64 sentinel, and an integer written as a decimal', async () => {
  await post({}, 'tools/list', {});
  const before = deployCalls();
  const ok = await post({ 'mcp-param-region': '=?base64?' + Buffer.from('zürich').toString('base64') + '?=', 'mcp-param-replicas': '2.0' }, 'tools/call', { name: 'deploy', arguments: { region: 'zürich', replicas: 2 } });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(deployCalls(), before + 1);
});

test('headers that disagree with the body, or that nothing mirrors, are refused and nothing arrives upstream', async () => {
  await post({}, 'tools/list', {});
  const args = { region: 'eu-west-1', replicas: 3 };
  const cases: [string, Record<string, string>, string, Record<string, unknown>][] = [
    ['another region', { 'mcp-param-region': 'us-east-1' }, 'tools/call', { name: 'deploy', arguments: args }],
    ['another count', { 'mcp-param-replicas': '30' }, 'tools/call', { name: 'deploy', arguments: args }],
    ['another case', { 'mcp-param-region': 'EU-WEST-1' }, 'tools/call', { name: 'deploy', arguments: args }],
    ['a boolean spelled otherwise', { 'mcp-param-dry-run': 'True' }, 'tools/call', { name: 'deploy', arguments: { ...args, dryRun: true } }],
    ['an argument the body lacks', { 'mcp-param-dry-run': 'true' }, 'tools/call', { name: 'deploy', arguments: args }],
    ['a header the tool does not declare', { 'mcp-param-zone': 'a' }, 'tools/call', { name: 'deploy', arguments: args }],
    ['a malformed sentinel', { 'mcp-param-region': '=?base64?%%%?=' }, 'tools/call', { name: 'deploy', arguments: args }],
    ['a tool never listed through the gate', { 'mcp-param-region': 'eu-west-1' }, 'tools/call', { name: 'unlisted', arguments: args }],
    ['a message other than tools/call', { 'mcp-param-region': 'eu-west-1' }, 'tools/list', {}],
  ];
  for (const [what, headers, method, params] of cases) {
    const arrived = upstream.arrivals.length;
    const r = await post(headers, method, params);
    assert.equal(r.status, 400, `${what}: ${r.body}`);
    assert.equal(r.json().error.code, -32020, what);
    assert.equal(r.json().error.data.code, ErrorCodes.MCP_HEADER_MISMATCH, what);
    assert.equal(upstream.arrivals.length, arrived, `${what}: nothing arrived upstream`);
  }
});

test('declarations: only primitive properties reached through properties, token names, unique ignoring case', () => {
  assert.deepEqual(paramHeaderDeclarations(DEPLOY.inputSchema)?.map((d) => [d.header, d.path.join('.')]), [
    ['mcp-param-region', 'region'],
    ['mcp-param-replicas', 'replicas'],
    ['mcp-param-dry-run', 'dryRun'],
  ]);
  assert.deepEqual(paramHeaderDeclarations({ type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'string', 'x-mcp-header': 'B' } } } } })?.[0]?.path, ['a', 'b']);
  const invalid = [
    { type: 'object', properties: { a: { type: 'array', items: { type: 'string', 'x-mcp-header': 'A' } } } },
    { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'has space' } } },
    { type: 'object', properties: { a: { type: 'object', 'x-mcp-header': 'A' } } },
    { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'A' }, b: { type: 'string', 'x-mcp-header': 'a' } } },
    { type: 'object', anyOf: [{ properties: { a: { type: 'string', 'x-mcp-header': 'A' } } }] },
    { type: 'string', 'x-mcp-header': 'Root' },
  ];
  for (const schema of invalid) assert.equal(paramHeaderDeclarations(schema), undefined, JSON.stringify(schema));
});

test('a compute rewrite of an argument carries its Mcp-Param header along: the upstream gets the header and the body the policy decided', async () => {
  const rewriting = await startSidecar({
    engine: functionEngine(
      (input) =>
        input.action.mcp?.arguments?.region === 'us-east-1'
          ? { effect: 'compute', reason: 'moved to the EU', rewrite: { mcp: { arguments: { ...input.action.mcp.arguments, region: 'eu-central-1' } } } }
          : { effect: 'allow', reason: 'anything else' },
      undefined,
      [{ name: 'srv', kind: 'mcp', url: upstream.url }],
    ),
  });
  try {
    const call = (headers: Record<string, string>, method: string, params: Record<string, unknown>): ReturnType<typeof send> =>
      send(rewriting.port, {
        method: 'POST',
        path: '/mcp/srv',
        headers: { ...base, 'mcp-method': method, ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: meta } }),
      });
    assert.equal((await call({}, 'tools/list', {})).status, 200);
    const r = await call({ 'mcp-name': 'deploy', 'mcp-param-region': 'us-east-1', 'mcp-param-replicas': '2' }, 'tools/call', { name: 'deploy', arguments: { region: 'us-east-1', replicas: 2 } });
    assert.equal(r.status, 200, r.body);
    const arrival = upstream.arrivals.findLast((a) => a.body.includes('"deploy"') && a.body.includes('tools/call'))!;
    assert.equal(JSON.parse(arrival.body).params.arguments.region, 'eu-central-1');
    assert.equal(arrival.headers['mcp-param-region'], 'eu-central-1', 'the header follows the rewritten argument');
    assert.equal(arrival.headers['mcp-param-replicas'], '2');
    assert.equal(arrival.headers['mcp-name'], 'deploy');
  } finally {
    await rewriting.close();
  }
});
