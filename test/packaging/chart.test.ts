/**
 * The Helm chart through the real helm (built by scripts/e2e-tools.sh): `helm
 * lint --strict` and `helm template` with its defaults and with the value sets
 * a user is likely to try. Each rendered document must parse, be a valid
 * Kubernetes object, and fit the others (selectors, ports, names).
 * manifests/ must be the chart rendered with defaults. What the real API
 * server says about the same objects is chart-server.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import Ajv from 'ajv';
import { filesUnder, readYamlDocuments, root } from './support.ts';
import { portcullisSchemas, problems, type KubeObject } from './kube-schemas.ts';
import { CHART, RELEASE, VALUE_SETS, lint, notes, renderDocuments, renderObjects, template } from './helm.ts';
import { toolPath, toolsBin } from '../support/tools.ts';
import { selectorMatches as selects } from '../support/fake-kube/admission.ts';

function merge(a: any, b: any): any {
  if (typeof a !== 'object' || a === null || Array.isArray(a) || typeof b !== 'object' || b === null || Array.isArray(b)) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
  return out;
}

const defaults = parse(readFileSync(join(root, 'charts/portcullis/values.yaml'), 'utf8'));
const schema = JSON.parse(readFileSync(join(root, 'charts/portcullis/values.schema.json'), 'utf8'));
const validateValues = new Ajv.default({ allErrors: true, strict: false }).compile(schema);

const byKind = (objs: KubeObject[], kind: string): any[] => objs.filter((o) => o.kind === kind);
const one = (objs: KubeObject[], kind: string, nameEnd = ''): any => {
  const found = byKind(objs, kind).filter((o) => String(o.metadata?.name).endsWith(nameEnd));
  assert.equal(found.length, 1, `one ${kind}${nameEnd ? ` *${nameEnd}` : ''}, found ${found.length}`);
  return found[0];
};
const envOf = (deploy: any): Record<string, string> => Object.fromEntries(deploy.spec.template.spec.containers[0].env.filter((e: any) => 'value' in e).map((e: any) => [e.name, e.value]));
const subset = (small: Record<string, string>, big: Record<string, string>): boolean => Object.entries(small).every(([k, v]) => big[k] === v);

test('values.yaml and every value set tried here satisfy values.schema.json; a wrong value is refused', () => {
  for (const [name, set] of Object.entries(VALUE_SETS)) {
    assert.ok(validateValues(merge(defaults, set)), `${name}: ${JSON.stringify(validateValues.errors)}`);
  }
  assert.equal(validateValues(merge(defaults, { webhook: { certMode: 'selfsigned' } })), false);
  assert.equal(validateValues(merge(defaults, { controller: { replicass: 2 } })), false);
  // Kubernetes' own names are never impersonated, and a list item is one name.
  assert.equal(validateValues(merge(defaults, { approvals: { proxy: { groups: ['System:Masters'] } } })), false);
  assert.equal(validateValues(merge(defaults, { approvals: { proxy: { users: ['alice,mallory'] } } })), false);
});

test('values.yaml is documented line by line', () => {
  const lines = readFileSync(join(root, 'charts/portcullis/values.yaml'), 'utf8').split('\n');
  const undocumented: string[] = [];
  const indent = (l: string): number => l.length - l.trimStart().length;
  const isKey = (l: string): boolean => /^\s*[A-Za-z][\w.-]*:/.test(l);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    // Keys of the chart's own settings (two levels); contents of Kubernetes objects (resources, securityContext) are Kubernetes' own.
    if (!isKey(l) || indent(l) > 2) continue;
    let j = i - 1;
    // A comment above, or above a run of sibling one-line keys it describes together.
    while (j >= 0 && isKey(lines[j]!) && indent(lines[j]!) === indent(l) && !/:\s*$/.test(lines[j]!)) j--;
    const above = lines[j] ?? '';
    const opensBlock = isKey(above) && /:\s*$/.test(above) && indent(above) < indent(l);
    if (!above.trimStart().startsWith('#') && !(opensBlock && j === i - 1 && /:\s*$/.test(l))) undocumented.push(`values.yaml:${i + 1}: ${l.trim()}`);
  }
  assert.deepEqual(undocumented, []);
});

test('manifests/ and the chart CRDs are the chart rendered with defaults (scripts/sync-manifests.sh --check)', () => {
  toolPath('helm');
  const r = spawnSync('bash', ['scripts/sync-manifests.sh', '--check'], { cwd: root, env: { ...process.env, PORTCULLIS_TOOLS_BIN: toolsBin() }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

for (const [name, set] of Object.entries(VALUE_SETS)) {
  test(`helm lint --strict passes with ${name}`, () => {
    const r = lint(set);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    // --strict fails on warnings; informational lines (no icon) are all that may remain.
    assert.deepEqual(r.stdout.split('\n').filter((l) => /^\[(?!INFO\])/.test(l)), []);
  });
}

test('every rendered object names the template it came from and carries the release labels', () => {
  const chart = parse(readFileSync(join(root, CHART, 'Chart.yaml'), 'utf8'));
  const sources = new Set<string>();
  for (const set of Object.values(VALUE_SETS)) {
    for (const { object, source } of renderDocuments(set)) {
      const where = `${String(object.kind)} ${String(object.metadata?.name)} (${source})`;
      assert.ok(existsSync(join(root, 'charts', source)), `${where}: no such template`);
      sources.add(source);
      const labels = object.metadata?.labels as Record<string, string> | undefined;
      assert.equal(labels?.['app.kubernetes.io/instance'], RELEASE, where);
      assert.equal(labels?.['app.kubernetes.io/managed-by'], 'Helm', where);
      assert.equal(labels?.['helm.sh/chart'], `${chart.name}-${chart.version}`, where);
    }
  }
  // Every template but the namespace (rendered for manifests/ only) is exercised by some value set.
  const templates = filesUnder(`${CHART}/templates`, ['.yaml']).filter((f) => !f.endsWith('/namespace.yaml'));
  assert.deepEqual([...sources].sort(), templates.map((f) => f.replace(/^charts\//, '')));
});

for (const [name, set] of Object.entries(VALUE_SETS)) {
  test(`helm template with ${name}: every document is a valid object, and they fit together`, () => {
    const objs = renderObjects(set);
    const schemas = portcullisSchemas();
    const errors = objs.flatMap((o) => problems(schemas, o, name));
    assert.deepEqual(errors, []);
    const values = merge(defaults, set);
    const deploy = one(objs, 'Deployment', '-controller');
    const podLabels = deploy.spec.template.metadata.labels;
    assert.equal(deploy.spec.replicas, values.controller.replicas);
    assert.ok(subset(deploy.spec.selector.matchLabels, podLabels), 'the Deployment selects its pods');
    const service = one(objs, 'Service', '-controller');
    assert.ok(subset(service.spec.selector, podLabels), 'the Service selects the controller pods');
    const pdb = one(objs, 'PodDisruptionBudget');
    assert.ok(subset(pdb.spec.selector.matchLabels, podLabels));
    assert.ok(pdb.spec.minAvailable < deploy.spec.replicas, 'a drain can still move one replica');
    const env = envOf(deploy);
    // The controller is told the names the chart gave: leader election, webhooks, its Service.
    assert.equal(env.PORTCULLIS_LEASE_NAME, deploy.metadata.name);
    assert.equal(env.PORTCULLIS_SERVICE_NAME, service.metadata.name);
    const mutating = one(objs, 'MutatingWebhookConfiguration');
    const validating = one(objs, 'ValidatingWebhookConfiguration');
    assert.equal(env.PORTCULLIS_MUTATING_WEBHOOK, mutating.metadata.name);
    assert.equal(env.PORTCULLIS_VALIDATING_WEBHOOK, validating.metadata.name);
    for (const h of [...mutating.webhooks, ...validating.webhooks]) {
      assert.equal(h.clientConfig.service.name, service.metadata.name);
      assert.ok(service.spec.ports.some((p: any) => p.port === h.clientConfig.service.port), `${h.name} calls a port the Service has`);
    }
    assert.ok(mutating.webhooks[0].namespaceSelector.matchExpressions[1].values.includes('portcullis-system'), 'the controller namespace is never injected');
    // A controller outage blocks the pods that asked for the gate, and only them: the
    // annotation opt-in is selected by matchConditions, so it fails closed too.
    const podHooks = mutating.webhooks.filter((h: any) => h.rules.some((r: any) => r.resources.includes('pods')));
    const hooks = Object.fromEntries(podHooks.map((h: any) => [h.name, h]));
    assert.deepEqual(Object.keys(hooks).sort(), ['inject-annotated-pods.portcullis.dev', 'inject-labelled-pods.portcullis.dev', 'inject.portcullis.dev']);
    // The one other mutating hook signs verdicts (docs/approvals.md): fail-closed, on the update that sets one.
    const others = mutating.webhooks.filter((h: any) => !podHooks.includes(h));
    assert.deepEqual(others.map((h: any) => h.name), ['attest.actionapprovals.portcullis.dev']);
    assert.equal(others[0].failurePolicy, 'Fail');
    assert.deepEqual(others[0].rules, [{ operations: ['UPDATE'], apiGroups: ['portcullis.dev'], apiVersions: ['v1alpha1'], resources: ['actionapprovals'], scope: 'Namespaced' }]);
    assert.equal(others[0].clientConfig.service.path, '/mutate-actionapprovals');
    assert.match(others[0].matchConditions[0].expression, /has\(object\.spec\.decision\) && !has\(oldObject\.spec\.decision\)/);
    assert.equal(hooks['inject.portcullis.dev'].failurePolicy, values.webhook.failurePolicy);
    assert.equal(hooks['inject-labelled-pods.portcullis.dev'].failurePolicy, values.webhook.failurePolicy);
    assert.equal(hooks['inject-annotated-pods.portcullis.dev'].failurePolicy, values.webhook.failurePolicy);
    assert.match(hooks['inject-annotated-pods.portcullis.dev'].matchConditions[0].expression, /annotations\['portcullis\.dev\/inject'\] == 'true'/);
    for (const h of podHooks) {
      assert.ok(h.namespaceSelector.matchExpressions[1].values.includes('portcullis-system'), `${h.name} never sees the controller namespace`);
      assert.ok(h.namespaceSelector.matchExpressions[1].values.includes('kube-system'), `${h.name} never sees kube-system`);
    }
    // Each pod goes to exactly one hook (the injector is not run twice on one pod).
    for (const nsLabel of [undefined, 'enabled', 'disabled']) {
      for (const podLabel of [undefined, 'true', 'false']) {
        const ns: Record<string, string> = { 'kubernetes.io/metadata.name': 'agents', ...(nsLabel ? { 'portcullis.dev/injection': nsLabel } : {}) };
        const pod: Record<string, string> = podLabel ? { 'portcullis.dev/inject': podLabel } : {};
        const sent = podHooks.filter((h: any) => selects(h.namespaceSelector, ns) && selects(h.objectSelector, pod)).map((h: any) => h.name);
        assert.equal(sent.length, nsLabel === 'disabled' ? 0 : 1, `namespace ${nsLabel}, pod ${podLabel}: ${sent.join(', ')}`);
        if (nsLabel === 'enabled') assert.deepEqual(sent, ['inject.portcullis.dev']);
        if (!nsLabel && podLabel === 'true') assert.deepEqual(sent, ['inject-labelled-pods.portcullis.dev']);
      }
    }
    // The chart's image settings apply to the injected containers too.
    assert.equal(env.PORTCULLIS_SIDECAR_IMAGE_PULL_POLICY, values.image.pullPolicy);
    assert.equal(env.PORTCULLIS_SIDECAR_IMAGE_PULL_SECRETS, values.imagePullSecrets.length ? values.imagePullSecrets.map((s: any) => s.name).join(',') : undefined);
    assert.equal(env.PORTCULLIS_SIDECAR_LEDGER_VOLUME_SIZE, values.controller.sidecarLedgerVolumeSize);
    assert.equal(env.PORTCULLIS_SIDECAR_LEDGER_KEEP_SEGMENTS, String(values.controller.sidecarLedgerKeepSegments));
    assert.equal(env.PORTCULLIS_SIDECAR_LEDGER_DURABILITY, values.controller.sidecarLedgerDurability ?? 'fsync');
    if (values.controller.sidecarTls) {
      assert.equal(env.PORTCULLIS_SIDECAR_TLS, 'true');
      assert.equal(env.PORTCULLIS_CONTROLLER_URL, undefined, 'the controller derives the https URL of its Service');
      assert.ok(service.spec.ports.some((p: any) => p.port === 443));
    } else assert.equal(env.PORTCULLIS_CONTROLLER_URL, `http://${service.metadata.name}.portcullis-system.svc:8080`);
    const clusterRole = one(objs, 'ClusterRole', '-controller');
    for (const r of clusterRole.rules.filter((r: any) => r.resourceNames)) {
      assert.ok(r.resourceNames.every((n: string) => [mutating.metadata.name, validating.metadata.name].includes(n)), 'RBAC names the rendered webhooks');
    }
    const role = one(objs, 'Role');
    assert.ok(role.rules.some((r: any) => r.resources.includes('leases') && r.resourceNames?.includes(env.PORTCULLIS_LEASE_NAME)), 'the Lease the controller uses is granted');
    // The bundle signing key, in every mode: read and watched by name (create cannot be limited by name), never updated.
    const signing = role.rules.filter((r: any) => r.resources.includes('secrets') && r.resourceNames?.includes(env.PORTCULLIS_BUNDLE_SIGNING_SECRET));
    assert.deepEqual(signing.map((r: any) => r.verbs), [['get', 'list', 'watch']]);
    assert.ok(role.rules.some((r: any) => r.resources.includes('secrets') && !r.resourceNames && r.verbs.join() === 'create'));
    assert.ok(['token', 'none'].includes(env.PORTCULLIS_BUNDLE_AUTH));
    const binding = byKind(objs, 'ClusterRoleBinding').find((b: any) => b.metadata.name === deploy.metadata.name);
    assert.equal(binding.subjects[0].name, deploy.spec.template.spec.serviceAccountName);
    assert.equal(byKind(objs, 'ClusterRoleBinding').length, values.approvals.proxy.enabled ? 2 : 1);
    const proxyRole = values.approvals.proxy.enabled ? 1 : 0;
    assert.equal(byKind(objs, 'ClusterRole').length, 1 + (values.rbac.approverRole ? 1 : 0) + (values.rbac.policyAuthorRole ? 1 : 0) + (values.enforcement.admissionPolicy ? 1 : 0) + proxyRole);
    if (values.enforcement.admissionPolicy) {
      // The pod policy and the namespace guard, each bound to deny.
      const policies = byKind(objs, 'ValidatingAdmissionPolicy');
      assert.equal(policies.length, 2);
      for (const p of policies) {
        assert.equal(p.spec.failurePolicy, 'Fail');
        assert.ok(byKind(objs, 'ValidatingAdmissionPolicyBinding').some((b: any) => b.spec.policyName === p.metadata.name && b.spec.validationActions.includes('Deny')), `${p.metadata.name} is bound`);
      }
    }

    if (values.jaeger.enabled) {
      const jaegerService = one(objs, 'Service', '-jaeger');
      const ui = jaegerService.spec.ports.find((p: any) => p.name === 'ui');
      assert.equal(ui.nodePort, 30686);
      const kind = readYamlDocuments('kind-config.yaml')[0] as any;
      const mapping = kind.nodes[0].extraPortMappings.find((m: any) => m.containerPort === ui.nodePort);
      assert.equal(mapping?.hostPort, 16686, 'kind-config.yaml maps the Jaeger UI to localhost:16686');
      assert.ok(jaegerService.spec.ports.some((p: any) => p.port === 4318));
      assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, `http://${jaegerService.metadata.name}.portcullis-system.svc:4318`);
      assert.equal(env.PORTCULLIS_SIDECAR_OTEL_ENDPOINT, env.OTEL_EXPORTER_OTLP_ENDPOINT, 'injected sidecars send their spans to the same Jaeger');
      const jaeger = one(objs, 'Deployment', '-jaeger');
      assert.ok(subset(jaegerService.spec.selector, jaeger.spec.template.metadata.labels));
    } else {
      assert.equal(byKind(objs, 'Service').length, 1);
      assert.equal(env.OTEL_TRACES_EXPORTER, 'none');
      assert.equal(env.PORTCULLIS_SIDECAR_OTEL_ENDPOINT, values.tracing.sidecarOtlpEndpoint || undefined, 'sidecars export where they are told, else nothing');
    }
    assert.equal(env.PORTCULLIS_SIDECAR_APPROVAL_PAGE_URL, values.approvals.pageUrl || undefined, 'sidecars name the approval page people reach, else the controller default');
    const impersonation = byKind(objs, 'ClusterRole').filter((r: any) => r.rules.some((rule: any) => rule.verbs.includes('impersonate')));
    if (values.approvals.proxy.enabled) {
      // The proxy's listener: mutual TLS against the CA Secret, on a port of its own, and impersonation of people (never service accounts).
      assert.equal(env.PORTCULLIS_APPROVAL_PROXY_CA_FILE, '/etc/portcullis/approval-proxy-ca/ca.crt');
      assert.equal(env.PORTCULLIS_APPROVAL_PROXY_USER_HEADER, values.approvals.proxy.userHeader);
      assert.equal(env.PORTCULLIS_APPROVAL_PROXY_GROUPS_HEADER, values.approvals.proxy.groupsHeader);
      const caVolume = deploy.spec.template.spec.volumes.find((v: any) => v.secret?.secretName === values.approvals.proxy.clientCaSecret);
      assert.ok(caVolume && deploy.spec.template.spec.containers[0].volumeMounts.some((m: any) => m.name === caVolume.name && m.mountPath === '/etc/portcullis/approval-proxy-ca'));
      const proxyPort = service.spec.ports.find((p: any) => p.name === 'approval-proxy');
      assert.equal(proxyPort.port, values.approvals.proxy.port);
      assert.ok(deploy.spec.template.spec.containers[0].ports.some((p: any) => p.name === proxyPort.targetPort && p.containerPort === Number(env.PORTCULLIS_APPROVAL_PROXY_PORT)));
      const proxy = values.approvals.proxy;
      assert.equal(env.PORTCULLIS_APPROVAL_PROXY_USERS, proxy.users.join(','));
      assert.equal(env.PORTCULLIS_APPROVAL_PROXY_GROUPS, proxy.groups.join(','));
      assert.equal(env.PORTCULLIS_APPROVAL_PROXY_CLIENT_NAMES, proxy.clientNames.join(','));
      // The grant names the same people and groups the controller speaks for: all users only when none are listed, no group unless listed.
      assert.equal(impersonation.length, 1);
      assert.deepEqual(impersonation[0].rules, [
        { apiGroups: [''], resources: ['users'], verbs: ['impersonate'], ...(proxy.users.length > 0 ? { resourceNames: proxy.users } : {}) },
        ...(proxy.groups.length > 0 ? [{ apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: proxy.groups }] : []),
      ]);
      const binding = byKind(objs, 'ClusterRoleBinding').find((b: any) => b.roleRef.name === impersonation[0].metadata.name);
      assert.deepEqual(binding.subjects.map((s: any) => s.name), [deploy.spec.template.spec.serviceAccountName]);
    } else {
      assert.equal(impersonation.length, 0, 'no impersonation without the proxy');
      assert.equal(env.PORTCULLIS_APPROVAL_PROXY_CA_FILE, undefined);
      assert.ok(!service.spec.ports.some((p: any) => p.name === 'approval-proxy'));
    }
    if (values.serviceMonitor.enabled) {
      const sm = one(objs, 'ServiceMonitor');
      assert.ok(subset(sm.spec.selector.matchLabels, service.metadata.labels), 'the ServiceMonitor selects the Service');
      assert.ok(service.spec.ports.some((p: any) => p.name === sm.spec.endpoints[0].port));
      assert.equal(sm.metadata.labels.release, 'prometheus');
    } else assert.equal(byKind(objs, 'ServiceMonitor').length, 0);
    if (values.webhook.certMode === 'certManager') {
      const cert = one(objs, 'Certificate');
      assert.ok(cert.spec.dnsNames.includes(`${service.metadata.name}.portcullis-system.svc`));
      const volume = deploy.spec.template.spec.volumes.find((v: any) => v.secret);
      assert.equal(volume.secret.secretName, cert.spec.secretName);
      assert.equal(env.PORTCULLIS_WEBHOOK_CERT_MODE, 'files');
      for (const w of [mutating, validating]) assert.equal(w.metadata.annotations['cert-manager.io/inject-ca-from'], `portcullis-system/${cert.metadata.name}`);
      assert.equal(one(objs, 'Issuer').metadata.name, cert.spec.issuerRef.name);
      assert.ok(!role.rules.some((r: any) => r.resources.includes('secrets') && r.resourceNames?.includes(cert.spec.secretName)), 'no access to the certificate Secret cert-manager makes');
    } else {
      assert.equal(env.PORTCULLIS_WEBHOOK_CERT_MODE, 'self');
      assert.ok(role.rules.some((r: any) => r.resources.includes('secrets') && r.resourceNames?.includes(env.PORTCULLIS_WEBHOOK_SECRET)));
      assert.equal(byKind(objs, 'Certificate').length, 0);
    }
  });
}

test('NOTES.txt tells the user what to do next', () => {
  const text = notes({ jaeger: { enabled: true } });
  assert.match(text, /kubectl -n portcullis-system rollout status deployment\/portcullis-controller/);
  assert.match(text, /portcullis\.dev\/inject: "true"/);
  assert.match(text, /portcullis approve --kube/);
  assert.match(text, /port-forward svc\/portcullis-jaeger 16686/);
  assert.doesNotMatch(text, /cert-manager/);
  // In cert-manager mode it names the Certificate the chart renders.
  const values = { webhook: { certMode: 'certManager' } };
  const cert = renderObjects(values).find((o) => o.kind === 'Certificate');
  assert.match(notes(values), new RegExp(`get certificate ${String(cert?.metadata?.name)}\\b`));
});

test('a value outside the schema is refused by helm lint and helm template, and the templates refuse it on their own', () => {
  const wrong = { webhook: { certMode: 'selfsigned' } };
  const linted = lint(wrong);
  assert.notEqual(linted.status, 0);
  assert.match(linted.stdout, /\[ERROR\] values\.yaml: - at '\/webhook\/certMode': value must be one of 'self', 'certManager'/);
  const rendered = template(wrong);
  assert.notEqual(rendered.status, 0);
  assert.match(rendered.stderr, /at '\/webhook\/certMode': value must be one of 'self', 'certManager'/);
  // helm checks values.schema.json before it renders; a user can turn that off,
  // and the chart must still not render a controller with an unknown mode.
  const unchecked = template(wrong, ['--skip-schema-validation']);
  assert.notEqual(unchecked.status, 0);
  assert.match(unchecked.stderr, /webhook\.certMode must be self or certManager/);
});

test('the approval proxy is not turned on without naming whom it may speak for, or saying anyone', () => {
  const unnamed = template({ approvals: { proxy: { enabled: true, clientCaSecret: 'approval-proxy-ca' } } });
  assert.notEqual(unnamed.status, 0);
  assert.match(unnamed.stderr, /approvals\.proxy\.users is empty: list the people the proxy may speak for.*anyUser=true/);
  assert.equal(template({ approvals: { proxy: { enabled: true, clientCaSecret: 'approval-proxy-ca', anyUser: true } } }).status, 0);
});

test('Chart.yaml is a v2 application chart whose appVersion is the package version and the controller default image', async () => {
  const chart = parse(readFileSync(join(root, 'charts/portcullis/Chart.yaml'), 'utf8'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'portcullis');
  assert.equal(chart.type, 'application');
  assert.match(chart.version, /^\d+\.\d+\.\d+$/);
  assert.equal(chart.appVersion, pkg.version);
  const { loadControllerConfig } = await import('../../src/config/controller.ts');
  assert.equal(loadControllerConfig({}).sidecarImage, `${defaults.image.repository}:${chart.appVersion}`);
  assert.match(readFileSync(join(root, 'Dockerfile'), 'utf8'), new RegExp(`ARG VERSION=${pkg.version.replace(/\./g, '\\.')}\\b`));
});
