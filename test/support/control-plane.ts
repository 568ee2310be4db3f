/**
 * A real Kubernetes control plane for tests: etcd and kube-apiserver (built by
 * scripts/e2e-tools.sh) on loopback, with the flag set controller-runtime's
 * envtest uses — its own CA and serving certificate, an admin client
 * certificate in `system:masters`, a service-account signing key (so
 * TokenRequest and TokenReview work), RBAC, and the default admission plugins,
 * webhooks among them. There is no controller-manager and no kubelet: tests
 * create the ServiceAccounts they need, pods are stored but never run, and a
 * deleted namespace stays Terminating; webhooks are reached through `url:`
 * client configs (there is no service network).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolPath } from './tools.ts';

const run = promisify(execFile);

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (`-f -`). */
  input?: string;
  /** Impersonate this user (`--as`), with these groups (`--as-group`). */
  as?: string;
  asGroups?: string[];
  /** A kubeconfig other than the admin's. */
  kubeconfig?: string;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** kubeconfig of an admin (client certificate in system:masters). */
  readonly kubeconfig: string;
  readonly caPem: string;
  readonly dir: string;
  /** Runs kubectl against this API server; resolves with its exit code (it never throws on a non-zero exit). */
  kubectl(args: string[], options?: KubectlOptions): Promise<KubectlResult>;
  /** kubectl that must succeed; returns stdout (parsed when `-o json`). */
  kubectlOk(args: string[], options?: KubectlOptions): Promise<any>;
  /** A kubeconfig for a bearer token (a ServiceAccount's, from `kubectl create token`). */
  tokenKubeconfig(name: string, token: string): string;
  /** A kubeconfig for a user authenticated by a client certificate (CN = user, O = each group), in a namespace. */
  userKubeconfig(user: string, groups: string[], namespace?: string): Promise<string>;
  /** The API server's audit log (portcullis.dev resources and pods, Metadata level, webhook annotations included): what it was really asked. */
  auditEvents(): any[];
  /**
   * Reads and writes etcd directly, under the API server: the one way to store
   * an object that validation and admission would refuse (the v3 JSON gateway).
   */
  etcdGet(key: string): Promise<string | undefined>;
  etcdPut(key: string, value: string): Promise<void>;
  /** Stops kube-apiserver only (etcd keeps the data), to test clients through an outage. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and waits until it is ready. */
  startApiServer(): Promise<void>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    resources: [{ group: "portcullis.dev" }, { group: "", resources: ["pods"] }]
  - level: None
`;

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** CA, apiserver serving certificate (127.0.0.1, localhost), admin client certificate, service-account key pair. */
async function makePki(dir: string): Promise<void> {
  const ext = (name: string, body: string): string => {
    writeFileSync(join(dir, name), body);
    return name;
  };
  await openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=portcullis-test-ca']);
  const issue = async (name: string, subj: string, extFile: string): Promise<void> => {
    await openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
    await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', extFile]);
  };
  await issue('apiserver', '/CN=kube-apiserver', ext('apiserver.ext', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n'));
  await issue('admin', '/O=system:masters/CN=portcullis-test-admin', ext('admin.ext', 'extendedKeyUsage=clientAuth\n'));
  writeFileSync(join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
  await openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  await openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function kubeconfigYaml(url: string, caPem: string, user: Record<string, string>, namespace = 'default'): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const userLines = Object.entries(user).map(([k, v]) => `    ${k}: ${v}`).join('\n');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    'users:',
    '- name: user',
    '  user:',
    userLines,
    'contexts:',
    '- name: test',
    `  context: {cluster: test, user: user, namespace: ${namespace}}`,
    'current-context: test',
    '',
  ].join('\n');
}

function started(child: ChildProcess, logPath: string): ChildProcess {
  const log = createWriteStream(logPath, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitReady(url: string, caPem: string, child: ChildProcess, what: string, logPath: string, timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before it was ready; its log ends:\n${tail(logPath)}`);
    last = await new Promise<string>((resolve) => {
      const req = request(url, { ca: caPem, timeout: 2000 }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 ? 'ok' : `${res.statusCode} ${body.slice(0, 300)}`));
      });
      req.on('error', (e) => resolve(e.message));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    if (last === 'ok') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms (last answer: ${last}); its log ends:\n${tail(logPath)}`);
}

async function waitEtcd(port: number, child: ChildProcess, logPath: string): Promise<void> {
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}; its log ends:\n${tail(logPath)}`);
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd not healthy after 60 s; its log ends:\n${tail(logPath)}`);
}

export async function startControlPlane(): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-kube-'));
  await makePki(dir);
  const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdLog = join(dir, 'etcd.log');
  const apiLog = join(dir, 'kube-apiserver.log');

  const etcd = started(
    spawn(toolPath('etcd'), [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] }),
    etcdLog,
  );
  let apiserver: ChildProcess | undefined;
  const url = `https://127.0.0.1:${apiPort}`;
  const startApiServer = async (): Promise<void> => {
    apiserver = started(
      spawn(toolPath('kube-apiserver'), [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        `--cert-dir=${dir}`,
        `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
        `--client-ca-file=${join(dir, 'ca.crt')}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        // A loopback advertise address is refused by the default (lease) endpoint reconciler; there is no kube-proxy to use the endpoints anyway.
        '--endpoint-reconciler-type=none',
        '--service-cluster-ip-range=10.0.0.0/24',
        `--service-account-issuer=${url}`,
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--authorization-mode=RBAC',
        '--allow-privileged=true',
        `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
        `--audit-log-path=${join(dir, 'audit.log')}`,
        '--audit-log-mode=blocking',
        '--profiling=false',
        '--v=1',
      ], { stdio: ['ignore', 'pipe', 'pipe'] }),
      apiLog,
    );
    await waitReady(`${url}/readyz`, caPem, apiserver, 'kube-apiserver', apiLog);
  };

  try {
    await waitEtcd(etcdPort, etcd, etcdLog);
    await startApiServer();
  } catch (e) {
    await stopProcess(apiserver);
    await stopProcess(etcd);
    throw e;
  }

  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  writeFileSync(adminKubeconfig, kubeconfigYaml(url, caPem, {
    'client-certificate': join(dir, 'admin.crt'),
    'client-key': join(dir, 'admin.key'),
  }));

  const kubectl = async (args: string[], o: KubectlOptions = {}): Promise<KubectlResult> => {
    const full = [`--kubeconfig=${o.kubeconfig ?? adminKubeconfig}`, ...(o.as ? [`--as=${o.as}`] : []), ...(o.asGroups ?? []).map((g) => `--as-group=${g}`), ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(toolPath('kubectl'), full, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(o.input ?? '');
    });
  };

  return {
    url,
    kubeconfig: adminKubeconfig,
    caPem,
    dir,
    kubectl,
    async kubectlOk(args, o) {
      const r = await kubectl(args, o);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
      const json = args.includes('-o=json') || args.join(' ').includes('-o json');
      return json ? JSON.parse(r.stdout) : r.stdout;
    },
    tokenKubeconfig(name, token) {
      const path = join(dir, `${name}.kubeconfig`);
      writeFileSync(path, kubeconfigYaml(url, caPem, { token }));
      return path;
    },
    async etcdGet(key) {
      const res = await fetch(`http://127.0.0.1:${etcdPort}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from(key).toString('base64') }) });
      const body = (await res.json()) as { kvs?: { value: string }[] };
      const value = body.kvs?.[0]?.value;
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
    },
    async etcdPut(key, value) {
      const res = await fetch(`http://127.0.0.1:${etcdPort}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }),
      });
      if (!res.ok) throw new Error(`etcd put ${key}: ${res.status} ${await res.text()}`);
    },
    async userKubeconfig(user, groups, namespace) {
      const subj = [...groups.map((g) => `/O=${g}`), `/CN=${user}`].join('');
      writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
      await openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `user-${user}.key`, '-out', `user-${user}.csr`, '-subj', subj]);
      await openssl(dir, ['x509', '-req', '-in', `user-${user}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `user-${user}.crt`, '-days', '2', '-extfile', 'client.ext']);
      const path = join(dir, `user-${user}.kubeconfig`);
      writeFileSync(path, kubeconfigYaml(url, caPem, { 'client-certificate': join(dir, `user-${user}.crt`), 'client-key': join(dir, `user-${user}.key`) }, namespace));
      return path;
    },
    auditEvents() {
      let text = '';
      try {
        text = readFileSync(join(dir, 'audit.log'), 'utf8');
      } catch {
        return [];
      }
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
    async stopApiServer() {
      await stopProcess(apiserver);
    },
    startApiServer,
    async close() {
      await stopProcess(apiserver);
      await stopProcess(etcd);
      if (!process.env.PORTCULLIS_KEEP_CONTROL_PLANE) rmSync(dir, { recursive: true, force: true });
    },
  };
}
