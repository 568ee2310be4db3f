/**
 * charts/portcullis through the real helm (built by scripts/e2e-tools.sh):
 * the value sets the packaging tests try, and `helm template`, `helm lint`
 * and a client-only `helm install` with one of them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolPath } from '../support/tools.ts';
import { root, yamlDocuments } from './support.ts';
import type { KubeObject } from './kube-schemas.ts';

export const CHART = 'charts/portcullis';
/** The release every test renders, and manifests/ stands for: `helm install portcullis -n portcullis-system`. */
export const RELEASE = 'portcullis';
export const NAMESPACE = 'portcullis-system';

/** The defaults and the value sets a user is likely to try. */
export const VALUE_SETS: Record<string, Record<string, unknown>> = {
  defaults: {},
  'jaeger on': { jaeger: { enabled: true } },
  'ServiceMonitor on': { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } },
  'cert-manager mode, sidecars over TLS': { webhook: { certMode: 'certManager' }, controller: { sidecarTls: true } },
  'plain http to the controller, bundles to anyone (explicit)': { controller: { sidecarTls: false, bundleAuth: 'none' } },
  'sidecar spans to a collector of the cluster': { tracing: { sidecarOtlpEndpoint: 'http://otel-collector.observability.svc:4318' } },
  'approval page at an ingress': { approvals: { pageUrl: 'https://portcullis.example.com/approvals/' } },
  'approval page behind an authenticating proxy': { approvals: { pageUrl: 'https://portcullis.example.com/approvals/', proxy: { enabled: true, clientCaSecret: 'approval-proxy-ca', anyUser: true, userHeader: 'X-Auth-Request-User', groupsHeader: 'X-Auth-Request-Groups' } } },
  'approval proxy speaking for named people and groups only': { approvals: { proxy: { enabled: true, clientCaSecret: 'approval-proxy-ca', users: ['alice@example.com', 'oidc:bob'], groups: ['payments', 'sre'], clientNames: ['oauth2-proxy.auth.svc'] } } },
  'three replicas, other name, no optional roles': { fullnameOverride: 'gate', rbac: { approverRole: false, policyAuthorRole: false }, pdb: { minAvailable: 2 }, imagePullSecrets: [{ name: 'registry-a' }, { name: 'registry-b' }], image: { pullPolicy: 'Always' }, controller: { replicas: 3, sidecarLedgerVolumeSize: '1Gi' } },
};

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * helm with `values` as a values file (`-f`). Written as JSON: helm reads
 * values files as YAML 1.1, where an unquoted y, n, yes, no, on or off (keys
 * too) is a boolean, so a string value must reach it quoted.
 */
export function helm(command: string[], values: Record<string, unknown> = {}, extra: string[] = []): Run {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-chart-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    // No kubeconfig: nothing here may reach a cluster.
    const env = { ...process.env, KUBECONFIG: join(dir, 'no-kubeconfig') };
    const r = spawnSync(toolPath('helm'), [...command, '-f', file, ...extra], { cwd: root, env, encoding: 'utf8' });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function template(values: Record<string, unknown>, extra: string[] = []): Run {
  return helm(['template', RELEASE, CHART, '--namespace', NAMESPACE], values, extra);
}

export function lint(values: Record<string, unknown>): Run {
  return helm(['lint', '--strict', CHART, '--namespace', NAMESPACE], values);
}

/** What a user sees after `helm install`: the rendered NOTES.txt (client-only dry run, no cluster). */
export function notes(values: Record<string, unknown>): string {
  const r = helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--dry-run=client', '--output', 'json'], values);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).info.notes;
}

export interface Rendered {
  object: KubeObject;
  /** The template it came from, as helm's `# Source:` line names it (`portcullis/templates/…`). */
  source: string;
}

/** `helm template` output, document by document, with the template each one came from. */
export function renderDocuments(values: Record<string, unknown>, extra: string[] = []): Rendered[] {
  const r = template(values, extra);
  assert.equal(r.status, 0, r.stderr);
  const out: Rendered[] = [];
  for (const text of r.stdout.split(/^---$/m)) {
    const objects = yamlDocuments(text, 'helm template output') as KubeObject[];
    if (objects.length === 0) continue;
    const source = /^# Source: (\S+)$/m.exec(text)?.[1];
    assert.ok(source, `a document without a # Source: line:\n${text}`);
    out.push({ object: objects[0]!, source });
  }
  return out;
}

export function renderObjects(values: Record<string, unknown>, extra: string[] = []): KubeObject[] {
  return renderDocuments(values, extra).map((d) => d.object);
}
