/**
 * Capture with real packet filtering: a pod's network namespace and a remote
 * one holding the tools on non-loopback addresses, the rules installed by
 * `portcullis capture-init` with nft, the sidecar (`portcullis dev`) as UID
 * 65532 and the agent as UID 1000, with no proxy settings. What reached a
 * tool is read from the tool's own log (remote-peer.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { capturePodUnavailable, createCapturePod, jsonLines, Lines, POD, REMOTE, type CapturePod } from '../support/capture-pod.ts';

const root = join(import.meta.dirname, '..', '..');
const SIDECAR_UID = 65532;
const AGENT_UID = 1000;
const CAPTURE_ENV = { PORTCULLIS_CAPTURE: 'true', PORTCULLIS_CAPTURE_HTTP_PORTS: '80,8080', PORTCULLIS_CAPTURE_TLS_PORTS: '443' };
const PATH = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';

const POLICY = `package portcullis

import rego.v1

default decision := {"effect": "deny", "reason": "only tool.test is allowed"}

decision := {"effect": "allow", "reason": "tool.test over HTTP"} if {
\tinput.action.type == "http"
\tinput.action.http.host == "tool.test"
\tnot startswith(input.action.http.path, "/denied")
}

decision := {"effect": "allow", "reason": "tool.test over TLS"} if {
\tinput.action.type == "connect"
\tinput.action.http.host == "tool.test"
\tinput.action.http.port == 443
}
`;

/** The catalog: tool.test's HTTP API takes a credential only the gate holds. */
const TOOLS = `entrypoint: portcullis/decision
tools:
  - name: tool
    kind: http
    url: http://tool.test
    credential: {name: tool-token, header: authorization, prefix: "Bearer "}
`;
const TOOL_SECRET = 'tool-secret-c0ffee-5e1f';

const unavailable = capturePodUnavailable();
if (unavailable) {
  process.stderr.write(`\n${'!'.repeat(78)}\n!! CAPTURE TESTS SKIPPED: ${unavailable}\n!! Nothing here shows that capture works on this machine.\n${'!'.repeat(78)}\n\n`);
}

let dir: string;
let pod: CapturePod;
let remote: Lines;
let sidecar: Lines;
let agent: Agent;
const children: ChildProcess[] = [];

class Agent {
  #next = 1;
  readonly out: Lines;
  constructor(readonly child: ChildProcess) {
    this.out = new Lines(child);
  }
  async ask<T = Record<string, unknown>>(op: Record<string, unknown>): Promise<T> {
    const id = this.#next++;
    this.child.stdin!.write(JSON.stringify({ id, ...op }) + '\n');
    const line = await this.out.until((l) => l.startsWith(`{"id":${id},`), `answering ${JSON.stringify(op).slice(0, 100)}`, 30_000);
    return (JSON.parse(line) as { result: T }).result;
  }
}

function startAgent(uid: number): Agent {
  const child = pod.spawnIn(pod.pod, uid, process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'agent-client.ts')], { PATH, HOME: '/tmp' }, root);
  children.push(child);
  return new Agent(child);
}

const arrivals = (kind: string): Record<string, unknown>[] => jsonLines(remote).filter((l) => l.kind === kind);

/** Waits until the remote logged an arrival matching `pred`. */
const arrived = (pred: (l: Record<string, unknown>) => boolean, what: string): Promise<string> =>
  remote.until((line) => {
    try {
      return pred(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return false;
    }
  }, what);

/** The ledger's intent entry for the HTTP call to `path`. */
function intentFor(path: string): Record<string, any> {
  const found = ledger().filter((e) => e.kind === 'intent' && e.record?.input?.action?.http?.path === path);
  assert.equal(found.length, 1, `one intent for ${path}: ${JSON.stringify(ledger()).slice(0, 2000)}`);
  return found[0]!;
}

function ledger(): Record<string, any>[] {
  return readFileSync(join(dir, 'state', 'ledger.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
}

before(async () => {
  if (unavailable) return;
  dir = mkdtempSync(join(tmpdir(), 'portcullis-capture-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'capture.rego'), POLICY);
  writeFileSync(join(dir, 'policies', 'portcullis.yaml'), TOOLS);
  mkdirSync(join(dir, 'state'));
  chownSync(join(dir, 'state'), SIDECAR_UID, SIDECAR_UID);
  // The sidecar's credential, as a Secret mounted into its container only would be: its UID alone can read it.
  mkdirSync(join(dir, 'state', 'credentials'), { mode: 0o700 });
  writeFileSync(join(dir, 'state', 'credentials', 'tool-token'), TOOL_SECRET + '\n', { mode: 0o600 });
  for (const p of ['credentials', 'credentials/tool-token']) chownSync(join(dir, 'state', p), SIDECAR_UID, SIDECAR_UID);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=tool.test',
    '-addext', 'subjectAltName=DNS:tool.test,DNS:evil.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
  chmodSync(join(dir, 'key.pem'), 0o644);

  pod = createCapturePod({ 'tool.test': REMOTE.tool, 'evil.test': REMOTE.other }, REMOTE.dns);
  const spec = {
    http: [{ host: REMOTE.tool, port: 80 }, { host: REMOTE.tool, port: 8080 }, { host: REMOTE.tool6, port: 80 }],
    tls: [{ host: REMOTE.tool, port: 443 }, { host: REMOTE.other, port: 443 }],
    tcp: [{ host: REMOTE.tool, port: 5432 }],
    udp: [{ host: REMOTE.tool, port: 9999 }],
    dns: { host: REMOTE.dns, port: 53 },
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
  };
  const remoteChild = pod.spawnIn(pod.remote, undefined, process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'remote-peer.ts'), JSON.stringify(spec)], { PATH }, root);
  children.push(remoteChild);
  remote = new Lines(remoteChild);
  await remote.until((l) => l.includes('"kind":"ready"'), 'saying the tools listen');

  const init = pod.runIn(pod.pod, process.execPath, [join(root, 'bin', 'portcullis.js'), 'capture-init'], { ...CAPTURE_ENV, HOME: '/tmp' });
  assert.match(init, /capture rules installed and verified/);
  assert.match(init, new RegExp(`DNS ${REMOTE.dns.replace(/\./g, '\\.')}`), 'the resolver comes from the pod resolv.conf');

  const sidecarChild = pod.spawnIn(
    pod.pod,
    SIDECAR_UID,
    process.execPath,
    [join(root, 'bin', 'portcullis.js'), 'dev', '--policies', join(dir, 'policies'), '--ledger', join(dir, 'state', 'ledger.jsonl'), '--token-file', join(dir, 'state', 'admin-token')],
    { PATH, HOME: join(dir, 'state'), ...CAPTURE_ENV, PORTCULLIS_LOG_LEVEL: 'debug', OTEL_TRACES_EXPORTER: 'none', PORTCULLIS_CREDENTIALS_DIR: join(dir, 'state', 'credentials') },
    join(dir, 'state'),
  );
  children.push(sidecarChild);
  sidecar = new Lines(sidecarChild);
  await sidecar.until((l) => l.includes('capture is active'), 'saying capture is active');
  await sidecar.until((l) => l.includes('portcullis dev: loaded'), 'saying the bundle loaded');
  agent = startAgent(AGENT_UID);
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  pod?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const skip = unavailable ? { skip: `capture tests skipped: ${unavailable}` } : {};

test('the sidecar reports capture active: ready, and the gauge is 1', skip, async () => {
  const ready = await agent.ask<{ status: number; body: string }>({ op: 'fetch', url: 'http://127.0.0.1:7071/readyz' });
  assert.equal(ready.status, 200, ready.body);
  const metrics = await agent.ask<{ body: string }>({ op: 'fetch', url: 'http://127.0.0.1:7071/metrics' });
  assert.match(metrics.body, /^portcullis_capture_active 1$/m);
});

test('a sidecar whose capture rules are not in place is not ready, and says why', skip, async () => {
  // Listeners on ports the installed rules do not name: its probes are refused, as with no rules at all.
  const child = pod.spawnIn(
    pod.pod,
    SIDECAR_UID,
    process.execPath,
    [join(root, 'bin', 'portcullis.js'), 'dev', '--policies', join(dir, 'policies'), '--no-ledger', '--port', '17070', '--admin-port', '17071', '--token-file', join(dir, 'state', 'other-token')],
    { PATH, HOME: join(dir, 'state'), ...CAPTURE_ENV, PORTCULLIS_CAPTURE_LISTEN_PORT: '16001', OTEL_TRACES_EXPORTER: 'none' },
    join(dir, 'state'),
  );
  children.push(child);
  const out = new Lines(child);
  await out.until((l) => l.includes('capture is not active'), 'saying capture is not active');
  await out.until((l) => l.includes('portcullis dev: loaded'), 'saying the bundle loaded');
  const ready = await agent.ask<{ status: number; body: string }>({ op: 'fetch', url: 'http://127.0.0.1:17071/readyz' });
  assert.equal(ready.status, 503);
  assert.match(JSON.parse(ready.body).reason, /capture is not active: probe 127\.0\.0\.1:26001 was refused/);
  const metrics = await agent.ask<{ body: string }>({ op: 'fetch', url: 'http://127.0.0.1:17071/metrics' });
  assert.match(metrics.body, /^portcullis_capture_active 0$/m);
  child.kill('SIGTERM');
});

test('Node fetch with no proxy settings is decided: allowed calls arrive and are recorded, a denied one never arrives', skip, async () => {
  const env = await agent.ask<{ uid: number; env: Record<string, string> }>({ op: 'env' });
  assert.equal(env.uid, AGENT_UID);
  assert.ok(!Object.keys(env.env).some((k) => /proxy/i.test(k)), 'the agent has no proxy settings');

  const ok = await agent.ask<{ status: number; body: string }>({ op: 'fetch', url: 'http://tool.test/ok' });
  assert.equal(ok.status, 200, JSON.stringify(ok));
  assert.equal(JSON.parse(ok.body).served, `${REMOTE.tool}:80`);
  const denied = await agent.ask<{ status: number; body: string }>({ op: 'fetch', url: 'http://tool.test/denied' });
  assert.equal(denied.status, 403);
  assert.equal(JSON.parse(denied.body).error.code, 'PORTCULLIS_DENIED');
  const other = await agent.ask<{ status: number }>({ op: 'fetch', url: 'http://tool.test:8080/after' });
  assert.equal(other.status, 200);
  await arrived((l) => l.kind === 'http' && l.url === '/after' && l.at === `${REMOTE.tool}:8080`, 'for /after on port 8080');

  const http = arrivals('http');
  assert.ok(http.some((l) => l.url === '/ok' && l.from === POD.v4), 'the allowed call arrived, from the pod address (the sidecar connected out)');
  assert.ok(!http.some((l) => String(l.url).startsWith('/denied')), 'the denied call never arrived');
  assert.equal(intentFor('/ok').record.enforcedEffect, 'allow');
  assert.equal(intentFor('/denied').record.enforcedEffect, 'deny');
});

test('a captured request to a host the policy does not allow is denied before it leaves', skip, async () => {
  const res = await agent.ask<{ status: number; body: string }>({ op: 'fetch', url: `http://${REMOTE.other}/x` });
  assert.equal(res.status, 403);
  assert.ok(!arrivals('http').some((l) => String(l.at).startsWith(REMOTE.other)));
});

test('a request sent to the capture listener itself with a loopback Host is refused, not looped back', skip, async () => {
  const res = await agent.ask<{ status: number; body: string }>({ op: 'fetch', url: 'http://127.0.0.1:15001/loop' });
  assert.equal(res.status, 400);
  assert.equal(JSON.parse(res.body).error.code, 'PORTCULLIS_BAD_REQUEST');
});

test('IPv6 is captured as IPv4 is', skip, async () => {
  const res = await agent.ask<{ status: number; body: string }>({ op: 'fetch', url: `http://[${REMOTE.tool6}]/v6` });
  assert.equal(res.status, 403, 'decided: the policy allows tool.test only, not the bare address');
  assert.ok(!arrivals('http').some((l) => l.url === '/v6'));
});

test('raw TCP to a port that is not HTTP or TLS is refused at once and never arrives', skip, async () => {
  const r = await agent.ask<{ connected: boolean; error: string }>({ op: 'tcp', host: REMOTE.tool, port: 5432 });
  assert.deepEqual(r, { connected: false, error: 'ECONNREFUSED' });
  const counters = pod.runIn(pod.pod, 'nft', ['list', 'chain', 'inet', 'portcullis', 'egress']);
  assert.match(counters, /meta l4proto tcp counter packets [1-9]\d* bytes \d+ reject with tcp reset/);
  assert.equal(arrivals('tcp').length, 0);
});

test('UDP is dropped except DNS to the resolver, which is answered', skip, async () => {
  const udp = await agent.ask<{ answered: boolean }>({ op: 'udp', host: REMOTE.tool, port: 9999, payload: 'leak', waitMs: 1000 });
  assert.equal(udp.answered, false);
  const dns = await agent.ask<{ answered: boolean; flags: number }>({ op: 'dns', host: REMOTE.dns });
  assert.equal(dns.answered, true);
  assert.equal(dns.flags & 0x8000, 0x8000, 'a DNS response');
  await arrived((l) => l.kind === 'dns', 'for the DNS query');
  // The datagram was sent before the query: had it been let through, it would have arrived first.
  assert.equal(arrivals('udp').length, 0);
  assert.match(pod.runIn(pod.pod, 'nft', ['list', 'chain', 'inet', 'portcullis', 'egress']), /counter packets [1-9]\d* bytes \d+ drop/);
});

test('TLS: an allowed host is spliced, a denied host refused, no SNI refused, and a forged SNI reaches only the host it names', skip, async () => {
  const ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const allowed = await agent.ask<{ ok: boolean; data: string; authorized: boolean }>({ op: 'tls', host: 'tool.test', port: 443, servername: 'tool.test', ca });
  assert.deepEqual(allowed, { ok: true, data: `tls-ok ${REMOTE.tool}`, authorized: true }, 'end-to-end TLS with the tool certificate: not terminated');

  const denied = await agent.ask<{ ok: boolean; message: string }>({ op: 'tls', host: 'evil.test', port: 443, servername: 'evil.test', ca });
  assert.equal(denied.ok, false);
  assert.match(denied.message, /access denied/i);

  const noSni = await agent.ask<{ ok: boolean; message: string }>({ op: 'tls', host: REMOTE.tool, port: 443, ca });
  assert.equal(noSni.ok, false);
  assert.match(noSni.message, /handshake failure/i);

  const forged = await agent.ask<{ ok: boolean; data: string }>({ op: 'tls', host: REMOTE.other, port: 443, servername: 'tool.test', ca });
  assert.deepEqual(forged, { ok: true, data: `tls-ok ${REMOTE.tool}`, authorized: true }, 'dialled the denied address, reached the SNI host');

  const tls = arrivals('tls');
  assert.ok(!tls.some((l) => String(l.at).startsWith(REMOTE.other)), 'nothing ever reached the other address');
  assert.equal(tls.filter((l) => l.at === `${REMOTE.tool}:443`).length, 2);
  const connects = ledger().filter((e) => e.kind === 'intent' && e.record?.input?.action?.type === 'connect');
  const byHost = (host: string): string[] => connects.filter((e) => e.record.input.action.http.host === host).map((e) => e.record.enforcedEffect);
  assert.deepEqual(byHost('evil.test'), ['deny'], 'the denied TLS call is recorded as decided on its SNI');
  assert.deepEqual(byHost('tool.test'), ['allow', 'allow']);
  assert.deepEqual(byHost(''), ['deny'], 'the ClientHello without SNI is recorded as refused');
});

test('credentials: the tool sees the gate credential, the agent own is gone, and nothing on the agent side holds it', skip, async () => {
  const r = await agent.ask<{ status: number; headers: Record<string, string>; body: string }>({ op: 'fetch', url: 'http://tool.test/cred', headers: { authorization: 'Bearer agent-own' } });
  assert.equal(r.status, 200);
  const seen = arrivals('http').find((l) => l.url === '/cred') as { headers: Record<string, string> } | undefined;
  assert.equal(seen?.headers.authorization, `Bearer ${TOOL_SECRET}`, 'the tool got the gate credential, not the agent one');
  assert.ok(!JSON.stringify(r).includes(TOOL_SECRET), 'not in the response');
  const env = await agent.ask({ op: 'env' });
  assert.ok(!JSON.stringify(env).includes(TOOL_SECRET), 'not in the agent environment');
  const read = await agent.ask<{ error?: string }>({ op: 'read', path: join(dir, 'state', 'credentials', 'tool-token') });
  assert.equal(read.error, 'EACCES', 'the agent UID cannot read the sidecar credential file');
  // Going around the gate gives neither a route (capture) nor the credential: a direct call is the decided one.
  await sidecar.until((l) => l.includes('tool credential presented'), 'logging the presentation (debug)');
  assert.ok(!sidecar.text().includes(TOOL_SECRET), 'not in the sidecar logs');
  assert.ok(!readFileSync(join(dir, 'state', 'ledger.jsonl'), 'utf8').includes(TOOL_SECRET), 'not in the ledger');
  const hash = (v: string): string => 'sha256:' + createHash('sha256').update(v).digest('hex');
  assert.equal(intentFor('/cred').record.input.action.http.headers.authorization, hash('Bearer agent-own'), 'the policy saw the agent header, hashed, never the gate one');
});

test('an agent running as the sidecar UID is not captured: why admission must refuse that UID', skip, async () => {
  const impostor = startAgent(SIDECAR_UID);
  const r = await impostor.ask<{ connected: boolean; data: string }>({ op: 'tcp', host: REMOTE.tool, port: 5432 });
  assert.deepEqual(r, { connected: true, data: 'tcp-ok\n' }, 'UID 65532 goes around the gate');
  await arrived((l) => l.kind === 'tcp', 'for the uncaptured TCP connection');
  impostor.child.stdin!.end();
});

test('latency: captured calls against explicit proxying (informational)', skip, async () => {
  const n = 40;
  const captured = await agent.ask<{ medianMs: number; p90Ms: number }>({ op: 'timing', url: 'http://tool.test/t', n });
  const proxied = await agent.ask<{ medianMs: number; p90Ms: number }>({ op: 'timing', url: 'http://tool.test/t', proxy: 'http://127.0.0.1:7070', n });
  assert.ok(captured.medianMs > 0 && proxied.medianMs > 0, JSON.stringify({ captured, proxied }));
  process.stdout.write(`# capture latency over ${n} sequential GETs: captured median ${captured.medianMs.toFixed(2)} ms (p90 ${captured.p90Ms.toFixed(2)}), explicit proxy median ${proxied.medianMs.toFixed(2)} ms (p90 ${proxied.p90Ms.toFixed(2)})\n`);
});
