import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { parseManifest } from '../../src/policy/bundle-manifest.ts';
import { parse as parseYaml } from 'yaml';
import { ErrorCodes, PortcullisError } from '../../src/errors.ts';
import type { ToolEntry } from '../../src/policy/types.ts';

const FILE_SECRET = 'file-secret-7f3a9c';
const ENV_SECRET = 'env-secret-41d2';

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;
let dir: string;
const logs: string[] = [];

before(async () => {
  upstream = await startUpstream((a, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: a.url }));
  });
  dir = mkdtempSync(join(tmpdir(), 'portcullis-cred-'));
  writeFileSync(join(dir, 'files-token'), FILE_SECRET + '\n');
  chmodSync(join(dir, 'files-token'), 0o600);
  const tools: ToolEntry[] = [
    { name: 'files', kind: 'http', url: `${upstream.origin}/files`, credential: { name: 'files-token', header: 'authorization', prefix: 'Bearer ' } },
    { name: 'search', kind: 'http', url: `${upstream.origin}/search`, credential: { name: 'search.key', header: 'x-api-key' } },
    { name: 'broken', kind: 'http', url: `${upstream.origin}/broken`, credential: { name: 'nowhere', header: 'authorization' } },
    { name: 'open', kind: 'http', url: `${upstream.origin}/open` },
    // As a PolicyBundle's catalog reaches the sidecar: not through the manifest parser, which lower-cases the header.
    { name: 'upper', kind: 'http', url: `${upstream.origin}/upper`, credential: { name: 'files-token', header: 'X-Token' } },
  ];
  const engine = functionEngine((input: any) => (input.action.http.path.includes('/deny') ? { effect: 'deny', reason: 'no' } : { effect: 'allow', reason: 'ok' }), undefined, tools);
  recorder = memoryRecorder();
  const logger = createLogger({ level: 'debug', name: 'test', redactHeaders: [], destination: { write: (s: string) => void logs.push(s) } });
  sidecar = await startSidecar({ engine, recorder, logger }, {}, { PORTCULLIS_CREDENTIALS_DIR: dir, PORTCULLIS_CREDENTIAL_SEARCH_KEY: ENV_SECRET });
});

after(async () => {
  await sidecar?.close();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('after an allow, the agent credential header is replaced by the gate one, on named routes and forward-proxy calls alike', async () => {
  const named = await send(sidecar.port, { path: '/tools/files/a', headers: { authorization: 'Bearer agent-own' } });
  assert.equal(named.status, 200);
  const forward = await send(sidecar.port, { path: `${upstream.origin}/files/b`, headers: { Authorization: 'Basic agent-own' } });
  assert.equal(forward.status, 200);
  const byUrl = (u: string) => upstream.log.find((a) => a.url === u)!;
  assert.equal(byUrl('/files/a').headers.authorization, `Bearer ${FILE_SECRET}`, 'the file value, trailing newline dropped');
  assert.equal(byUrl('/files/b').headers.authorization, `Bearer ${FILE_SECRET}`, 'the agent header is gone, whatever its case');
  const search = await send(sidecar.port, { path: '/tools/search/q', headers: { 'x-api-key': 'agent-key' } });
  assert.equal(search.status, 200);
  assert.equal(byUrl('/search/q').headers['x-api-key'], ENV_SECRET, 'a credential from the gate environment, without prefix');
  const upper = await send(sidecar.port, { path: '/tools/upper/u', headers: { 'x-token': 'agent-token' } });
  assert.equal(upper.status, 200);
  assert.equal(byUrl('/upper/u').headers['x-token'], FILE_SECRET, 'one header, the gate value');
});

test('the credential is in no policy input, record, log line or response', async () => {
  const r = await send(sidecar.port, { path: '/tools/files/c', headers: { authorization: 'Bearer agent-own' } });
  assert.ok(!r.body.includes(FILE_SECRET) && !JSON.stringify(r.headers).includes(FILE_SECRET));
  await recorder.waitOutcomes(recorder.intents.length);
  const everything = JSON.stringify({ intents: recorder.intents, outcomes: recorder.outcomes, logs });
  assert.ok(everything.includes('tool credential presented'), 'the presentation is logged (debug), without the value');
  for (const secret of [FILE_SECRET, ENV_SECRET]) assert.ok(!everything.includes(secret), `${secret} leaked`);
  const inputs = recorder.intents.map((i) => JSON.stringify(i.input));
  assert.ok(inputs.some((i) => i.includes('"/files/c"')), 'the calls were decided and recorded');
});

test('a denied call gets no credential and never arrives; a tool without one gets the agent header untouched', async () => {
  const denied = await send(sidecar.port, { path: '/tools/files/deny' });
  assert.equal(denied.status, 403);
  assert.ok(!upstream.log.some((a) => a.url === '/files/deny'));
  const open = await send(sidecar.port, { path: '/tools/open/x', headers: { authorization: 'Bearer agent-own' } });
  assert.equal(open.status, 200);
  assert.equal(upstream.log.find((a) => a.url === '/open/x')!.headers.authorization, 'Bearer agent-own');
});

test('a credential the gate lacks fails closed: the allowed call is not sent, the outcome says why', async () => {
  const r = await send(sidecar.port, { path: '/tools/broken/x', headers: { authorization: 'Bearer agent-own' } });
  assert.equal(r.status, 503);
  assert.equal(r.json().error.code, ErrorCodes.CREDENTIAL);
  assert.ok(!upstream.log.some((a) => a.url === '/broken/x'), 'not sent with the agent credential either');
  const decisionId = r.json().error.decisionId;
  assert.equal((await recorder.outcomeFor(decisionId)).errorCode, ErrorCodes.CREDENTIAL);
});

test('the manifest names a credential and how it is presented, never a value', () => {
  const m = parseManifest('portcullis.yaml', parseYaml('tools:\n  - {name: t, kind: http, url: "http://t", credential: {name: t-token, header: Authorization, prefix: "Bearer "}}\n'));
  assert.deepEqual(m.tools[0]!.credential, { name: 't-token', header: 'authorization', prefix: 'Bearer ' });
  const bad = (credential: string): void => {
    assert.throws(() => parseManifest('portcullis.yaml', parseYaml(`tools:\n  - {name: t, kind: http, url: "http://t", credential: ${credential}}\n`)), (e: unknown) => e instanceof PortcullisError && e.code === ErrorCodes.BUNDLE_INVALID, credential);
  };
  bad('{name: "../etc/passwd", header: authorization}');
  bad('{name: t, header: host}');
  bad('{name: t, header: authorization, value: s3cret}');
  bad('{name: t, header: authorization, prefix: "a\\nb"}');
});
