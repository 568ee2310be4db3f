/**
 * The gate's invariant, as a property: what the policy saw is what the
 * upstream received. Generated requests — methods, paths in every encoding
 * and dot-segment form, queries, bodies with awkward numbers and keys,
 * through the forward proxy and the named tool route — go through a real
 * sidecar to a recording upstream. For every request:
 * - if it reached the upstream, the upstream's own record (method, path,
 *   query, host, body) is what the recorded policy input describes: every
 *   common server reading of the path that arrived (decode then resolve,
 *   resolve then decode, merge slashes, strip `;` parameters) is the path the
 *   policy decided on, and the body is byte for byte the one whose hash and
 *   parsed value the policy saw;
 * - if it did not, the ledger has an entry saying why (a deny or a refusal
 *   with its code), and the agent was told so.
 *
 * CI runs a fixed seed for a bounded number of runs; set
 * PORTCULLIS_PROPERTY_RUNS (and PORTCULLIS_PROPERTY_SEED) for a longer run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import fc from 'fast-check';
import { startUpstream, startSidecar, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { parseQuery, removeDotSegments, splitPathAndQuery } from '../../src/gate/path.ts';

const RUNS = Number(process.env.PORTCULLIS_PROPERTY_RUNS ?? 1500);
const SEED = Number(process.env.PORTCULLIS_PROPERTY_SEED ?? 20261203);

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;

before(async () => {
  upstream = await startUpstream();
  recorder = memoryRecorder();
  // Denies anything under /admin, any DELETE, MCP tools named delete* and arguments under /prod: some calls reach the upstream, some must not.
  const policy = (input: any): unknown => {
    if (input.action.type === 'mcp') {
      const m = input.action.mcp;
      const denied = String(m.name ?? '').startsWith('delete') || String(m.arguments?.path ?? '').startsWith('/prod');
      return denied ? { effect: 'deny', reason: 'off limits' } : { effect: 'allow', reason: 'ok' };
    }
    const h = input.action.http;
    return h.method === 'DELETE' || String(h.path).startsWith('/admin') ? { effect: 'deny', reason: 'off limits' } : { effect: 'allow', reason: 'ok' };
  };
  const engine = functionEngine(policy, undefined, [
    { name: 'inventory', kind: 'http', url: `${upstream.origin}/api` },
    { name: 'fs', kind: 'mcp', url: `${upstream.origin}/mcp` },
  ]);
  sidecar = await startSidecar({ engine, recorder });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
});

// ---- generators -----------------------------------------------------------

const CLEAN_PIECES = ['admin', 'v1', 'items', 'a', 'B9', '~', '-_', '%70rod', '%C3%A9', "!$&'()*+,=:@", '.hidden', '%2e', '..', '.', ''];
const HOSTILE_PIECES = ['%2F', '%2f', '%2E%2E', '%2e.', '%25', '%25%32%46', ';x=1', '%3B', '..;', 'é', '%5C', '\\', '%zz', '%', '%00', ' '];
const piece = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...CLEAN_PIECES) }, { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_PIECES) });
const segment = fc.array(piece, { minLength: 1, maxLength: 2 }).map((p) => p.join(''));
const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => '/' + s.join('/'));
const queryPart = fc.tuple(fc.constantFrom('q', 'a b', 'x%20y', 'k', '%26', 'dry'), fc.constantFrom('1', '', 'a+b', '%2F..', 'é', '%zz', 'x=y'));
const query = fc.array(queryPart, { maxLength: 3 }).map((ps) => (ps.length ? '?' + ps.map(([k, v]) => `${k}=${v}`).join('&') : ''));
const method = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'PROPFIND', 'M-SEARCH') }, { weight: 1, arbitrary: fc.constant('DELETE') });
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.constantFrom('100.0000000000000001', '12345678901234567890', '1e400', '-0', '1.0', '0.1', '9007199254740993', '1E2'),
);
const jsonBody = fc
  .array(fc.tuple(fc.constantFrom('amount', 'path', 'a', '\\u0061', 'id'), fc.oneof(number.map(String), fc.constantFrom('"x"', '"/prod"', 'null', '[1,2]', '{"n":1}'))), { maxLength: 4 })
  .map((pairs) => '{' + pairs.map(([k, v]) => `"${k}":${v}`).join(',') + '}');
const body = fc.oneof(
  fc.constant(undefined),
  jsonBody.map((text) => ({ text, type: 'application/json' })),
  fc.string({ maxLength: 40 }).map((text) => ({ text, type: 'text/plain' })),
);
const route = fc.constantFrom<'proxy' | 'tool'>('proxy', 'tool');
const call = fc.record({ method, path, query, body, route });
type Call = typeof call extends fc.Arbitrary<infer T> ? T : never;

// ---- one call through the gate ---------------------------------------------

interface Reply {
  status: number;
  body: string;
}

function send(c: Call, probe: string, mcpRoute?: string, extraHeaders: Record<string, string> = {}): Promise<Reply> {
  // The probe rides in the query too: a request the HTTP parser refuses is recorded by its request line only.
  const q = `${c.query}${c.query ? '&' : '?'}probe=${probe}`;
  const target = mcpRoute ?? (c.route === 'proxy' ? `${upstream.origin}${c.path}${q}` : `/tools/inventory${c.path}${q}`);
  const headers: Record<string, string> = { 'x-probe': probe, ...extraHeaders };
  if (c.body) {
    headers['content-type'] = c.body.type;
    // Node frames a GET's or DELETE's body with nothing by default; unframed bytes are not part of the request.
    headers['content-length'] = String(Buffer.byteLength(c.body.text));
  }
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = request({ host: '127.0.0.1', port: sidecar.port, method: c.method, path: target, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
    } catch {
      // Node's own client will not put some characters on a request line; a raw socket will.
      return resolve(sendRaw(c.method, target, headers, c.body?.text));
    }
    req.on('error', reject);
    if (c.body) req.write(c.body.text);
    req.end();
  });
}

/** The same request written byte by byte, for targets Node's client refuses to send. */
async function sendRaw(method: string, target: string, headers: Record<string, string>, body = ''): Promise<Reply> {
  const s = connect(sidecar.port, '127.0.0.1');
  await once(s, 'connect');
  const lines = [`${method} ${target} HTTP/1.1`, `host: 127.0.0.1:${sidecar.port}`, 'connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  s.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8'), Buffer.from(body, 'utf8')]));
  const chunks: Buffer[] = [];
  s.on('data', (b: Buffer) => chunks.push(b));
  await once(s, 'close');
  const text = Buffer.concat(chunks).toString('utf8');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

// ---- the readings a server may give the path that arrived ------------------

function decode(p: string): string {
  return decodeURIComponent(p);
}
function mergeSlashes(p: string): string {
  return p.replace(/\/{2,}/g, '/');
}
function stripParams(p: string): string {
  return p.split('/').map((s) => s.split(';')[0]).join('/');
}
/** Readings by servers that decode first, resolve first, merge slashes, or strip `;` parameters. */
function serverReadings(rawPath: string): string[] {
  return [
    removeDotSegments(decode(rawPath)),
    decode(removeDotSegments(rawPath)),
    mergeSlashes(removeDotSegments(decode(mergeSlashes(rawPath)))),
    removeDotSegments(decode(stripParams(rawPath))),
  ].map(mergeSlashes);
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

// ---- the property ----------------------------------------------------------

/** fc.assert, with the failing assertion's own message in the report (the test runner does not print causes). */
async function assertProperty<T>(property: fc.IAsyncProperty<T>, params: fc.Parameters<T>): Promise<void> {
  try {
    await fc.assert(property, params);
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    throw new Error(`${(e as Error).message}\n\nbecause: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

let probes = 0;
const tally = { delivered: 0, refused: 0 };

/** The invariant for one plain HTTP call, from the upstream's log and the recorded inputs. */
/** Refusals by the HTTP parser: recorded by what the bytes it failed on show, which may not include the probe. */
const parserRefusals = (): number => recorder.intents.filter((i) => i.reason.startsWith('the request could not be parsed')).length;

function verifyHttpCall(c: Call, probe: string, reply: Reply, parserRefusalsBefore: number): void {
  const arrivals = upstream.log.filter((a) => a.headers['x-probe'] === probe);
  const inRequestLine = new RegExp(`[?&]probe=${probe}(?:&|$)`);
  const intents = recorder.intents.filter((i) => i.input.action.http?.headers?.['x-probe'] === probe || inRequestLine.test(i.input.action.http?.rawPath ?? ''));
  assert.ok(arrivals.length <= 1, 'one request arrives at most once');
  if (arrivals.length === 0) {
    tally.refused++;
    assert.ok(reply.status >= 400, `not delivered yet answered ${reply.status}: ${reply.body}`);
    if (intents.length === 0 && JSON.parse(reply.body).error.message.startsWith('the request could not be parsed')) {
      // Split inside a tunnel, the bytes the parser failed on need not hold the request line.
      assert.ok(parserRefusals() > parserRefusalsBefore, 'the parser refusal is recorded');
      return;
    }
    assert.equal(intents.length, 1, `a call that did not arrive has one entry saying why (got ${intents.length}); reply ${reply.status} ${reply.body}`);
    const intent = intents[0]!;
    assert.equal(intent.enforcedEffect, 'deny');
    const code = JSON.parse(reply.body).error.code;
    assert.equal(intent.errorCode ?? 'PORTCULLIS_DENIED', code, 'the record names the code the agent got');
    return;
  }
  tally.delivered++;
  const arrived = arrivals[0]!;
  assert.equal(intents.length, 1, 'a delivered call was decided once');
  const saw = intents[0]!.input.action.http!;
  assert.equal(intents[0]!.enforcedEffect, 'allow');
  assert.equal(arrived.method, saw.method);
  assert.equal(arrived.headers.host, `${saw.host}:${saw.port}`);
  const { rawPath, rawQuery } = splitPathAndQuery(arrived.url);
  for (const reading of serverReadings(rawPath)) assert.equal(reading, saw.path, `a server reading ${arrived.url} acts on ${reading}; the policy saw ${saw.path}`);
  assert.deepEqual(parseQuery(rawQuery), saw.query);
  if (c.body) {
    assert.equal(arrived.body, c.body.text, 'the body is forwarded byte for byte');
    assert.equal(arrived.body ? sha256(arrived.body) : undefined, saw.bodySha256);
    if (c.body.type === 'application/json') assert.deepEqual(JSON.parse(arrived.body), saw.body);
  } else {
    assert.equal(arrived.body, '');
  }
}


test('what the policy saw is what the upstream received; what did not arrive is recorded with why', { timeout: 3_600_000 }, async (t) => {
  await assertProperty(
    fc.asyncProperty(call, async (c) => {
      const probe = `p${++probes}`;
      const before = parserRefusals();
      verifyHttpCall(c, probe, await send(c, probe), before);
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  t.diagnostic(`seed ${SEED}, ${RUNS} runs: ${JSON.stringify(tally)}`);
  // The generators must exercise both sides, or the property proves little.
  assert.ok(tally.delivered > RUNS / 10, `too few delivered: ${JSON.stringify(tally)}`);
  assert.ok(tally.refused > RUNS / 10, `too few refused: ${JSON.stringify(tally)}`);
});

// ---- MCP: JSON-RPC messages and batches ------------------------------------

const argumentsText = fc
  .tuple(fc.constantFrom('"/tmp/a"', '"/prod/x"', '"/tmp/../prod/y"', '"\\u002fprod/z"', '1'), number.map(String), fc.boolean())
  .map(([path, n, dup]) => `{"path":${path},"n":${n}${dup ? ',"path":"/tmp/b"' : ''}}`);
const mcpMessage = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('read_file', 'write_file', 'delete_file'), argumentsText).map(([name, args]) => ({ method: 'tools/call', params: `{"name":"${name}","arguments":${args}}` })) },
  { weight: 1, arbitrary: fc.constantFrom({ method: 'tools/list', params: '{}' }, { method: 'ping', params: '' }, { method: 'resources/read', params: '{"uri":"file:///prod/x"}' }) },
);
const mcpCall = fc.record({ batch: fc.boolean(), messages: fc.array(mcpMessage, { minLength: 1, maxLength: 3 }) });

test('MCP: every forwarded message is the one the policy decided; every message held back is on record', { timeout: 3_600_000 }, async (t) => {
  const seen = { forwarded: 0, heldBack: 0 };
  await assertProperty(
    fc.asyncProperty(mcpCall, async (c) => {
      const probe = `m${++probes}`;
      const ids = c.messages.map((_, i) => `${probe}-${i}`);
      const texts = c.messages.map((m, i) => `{"jsonrpc":"2.0","id":"${ids[i]}","method":"${m.method}"${m.params ? `,"params":${m.params}` : ''}}`);
      const body = c.batch || texts.length > 1 ? `[${texts.join(',')}]` : texts[0]!;
      const reply = await send({ method: 'POST', path: '', query: '', route: 'tool', body: { text: body, type: 'application/json' } } as Call, probe, '/mcp/fs', {
        accept: 'application/json, text/event-stream',
      });
      const arrivals = upstream.log.filter((a) => a.headers['x-probe'] === probe);
      assert.ok(arrivals.length <= 1, 'one request arrives at most once');
      const forwarded: any[] = arrivals.length ? [JSON.parse(arrivals[0]!.body)].flat() : [];
      const decided = (id: string): any[] => recorder.intents.filter((i) => i.input.action.mcp?.id === id);
      for (const m of forwarded) {
        seen.forwarded++;
        const intents = decided(m.id);
        assert.equal(intents.length, 1, `forwarded ${m.id} was decided once`);
        const saw = intents[0]!.input.action.mcp!;
        assert.equal(intents[0]!.enforcedEffect, 'allow');
        assert.equal(m.method, saw.method);
        if (m.method === 'tools/call') {
          assert.equal(m.params.name, saw.name);
          // A batch forwarded in part is serialised again: the same JSON values, spelled as JSON.stringify spells them (-0 as 0).
          assert.equal(JSON.stringify(m.params.arguments), JSON.stringify(saw.arguments));
        }
      }
      const forwardedIds = new Set(forwarded.map((m) => m.id));
      if (forwardedIds.size === ids.length) assert.equal(arrivals[0]!.body, body, 'a request forwarded whole is forwarded byte for byte');
      const wholeRequestRefused = recorder.intents.some((i) => i.input.action.http?.headers?.['x-probe'] === probe && i.enforcedEffect === 'deny');
      for (const id of ids.filter((i) => !forwardedIds.has(i))) {
        seen.heldBack++;
        const onRecord = decided(id).some((i) => i.enforcedEffect === 'deny') || wholeRequestRefused || (reply.status >= 400 && decided(id).length > 0);
        assert.ok(onRecord, `${id} was held back without a record saying why (reply ${reply.status} ${reply.body.slice(0, 200)})`);
      }
    }),
    { seed: SEED, numRuns: Math.ceil(RUNS / 3), endOnFailure: true },
  );
  t.diagnostic(`seed ${SEED}: ${JSON.stringify(seen)}`);
  assert.ok(seen.forwarded > 0 && seen.heldBack > 0, JSON.stringify(seen));
});

// ---- plain HTTP inside a CONNECT tunnel, split at every point ---------------

const tunnelled = fc.record({ call: call.filter((c) => c.route === 'proxy'), split: fc.nat() });

/** The call written into an allowed tunnel, its first `split` bytes in the same write as the CONNECT. */
async function sendThroughTunnel(c: Call, probe: string, split: number): Promise<Reply> {
  const target = `${c.path}${c.query}${c.query ? '&' : '?'}probe=${probe}`;
  const head = [`${c.method} ${target} HTTP/1.1`, `host: 127.0.0.1:${upstream.port}`, 'connection: close', `x-probe: ${probe}`];
  if (c.body) head.push(`content-type: ${c.body.type}`, `content-length: ${Buffer.byteLength(c.body.text)}`);
  const bytes = Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'utf8'), Buffer.from(c.body?.text ?? '', 'utf8')]);
  const k = split % (bytes.length + 1);
  const s = connect(sidecar.port, '127.0.0.1');
  await once(s, 'connect');
  s.write(Buffer.concat([Buffer.from(`CONNECT 127.0.0.1:${upstream.port} HTTP/1.1\r\nhost: 127.0.0.1:${upstream.port}\r\n\r\n`), bytes.subarray(0, k)]));
  const chunks: Buffer[] = [];
  s.on('data', (b: Buffer) => chunks.push(b));
  const [established] = (await once(s, 'data')) as [Buffer];
  chunks.length = 0;
  const rest = established.toString('latin1').replace(/^HTTP\/1\.1 200 [^\r]*\r\n\r\n/, '');
  if (rest) chunks.push(Buffer.from(rest, 'latin1'));
  s.write(bytes.subarray(k));
  await once(s, 'close');
  const text = Buffer.concat(chunks).toString('utf8');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

test('inside an allowed tunnel, a plain request split anywhere is decided like any other', { timeout: 3_600_000 }, async () => {
  await assertProperty(
    fc.asyncProperty(tunnelled, async ({ call: c, split }) => {
      const probe = `t${++probes}`;
      const before = parserRefusals();
      verifyHttpCall(c, probe, await sendThroughTunnel(c, probe, split), before);
    }),
    { seed: SEED, numRuns: Math.ceil(RUNS / 3), endOnFailure: true },
  );
});
