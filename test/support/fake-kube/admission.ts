/**
 * Admission as the API server does it: find the webhooks whose rules match a
 * write, send each an AdmissionReview v1 over TLS (trusting only the
 * configuration's caBundle, checking the service's DNS name), apply the
 * mutating webhooks' JSONPatches, and refuse the write when a validating
 * webhook says no.
 */
import { request } from 'node:https';
import { randomUUID } from 'node:crypto';
import { applyJsonPatch, type JsonPatchOp } from './patch.ts';
import { StatusError, type KubeObject, type Store } from './store.ts';
import { findType, type ResourceType } from './resources.ts';

export interface AdmissionTarget {
  /** Where a service reference really listens, e.g. https://127.0.0.1:PORT */
  resolveService(namespace: string, name: string, port: number): { host: string; port: number };
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(labels[e.key]!)
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(labels[e.key]!)
      : e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}

interface Rule {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
}

function ruleMatches(rules: Rule[] | undefined, rt: ResourceType, op: string, sub: string | undefined): boolean {
  const resource = sub ? `${rt.plural}/${sub}` : rt.plural;
  const any = (list: string[] | undefined, v: string): boolean => !!list && (list.includes('*') || list.includes(v));
  return (rules ?? []).some(
    (r) => any(r.operations, op) && any(r.apiGroups, rt.group) && any(r.apiVersions, rt.version) && any(r.resources, resource),
  );
}

export interface UserInfo {
  username: string;
  groups: string[];
}

export const ADMIN: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };

export interface AdmissionCall {
  webhook: string;
  allowed: boolean;
  message?: string;
}

function post(url: URL, host: string, port: number, ca: string, servername: string, body: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: url.pathname + url.search, method: 'POST', ca, servername, headers: { 'content-type': 'application/json' }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('webhook timeout')));
    req.end(body);
  });
}

export class Admission {
  readonly calls: AdmissionCall[] = [];

  constructor(
    private readonly store: Store,
    private readonly target: AdmissionTarget,
  ) {}

  private namespaceLabels(ns: string | undefined): Record<string, string> {
    if (!ns) return {};
    const t = findType('', 'v1', 'namespaces')!;
    const o = this.store.tryGet(t, undefined, ns);
    return { 'kubernetes.io/metadata.name': ns, ...(o?.metadata.labels ?? {}) };
  }

  private async review(hook: any, rt: ResourceType, op: string, obj: KubeObject, old: KubeObject | undefined, sub: string | undefined, user: UserInfo): Promise<any> {
    const cc = hook.clientConfig ?? {};
    if (!cc.caBundle) throw new StatusError(500, 'InternalError', `failed calling webhook "${hook.name}": no caBundle`);
    const ca = Buffer.from(cc.caBundle, 'base64').toString('utf8');
    let url: URL;
    let host: string;
    let port: number;
    let servername: string;
    if (cc.service) {
      const svc = cc.service;
      const resolved = this.target.resolveService(svc.namespace, svc.name, svc.port ?? 443);
      url = new URL(`https://${svc.name}.${svc.namespace}.svc${svc.path ?? '/'}`);
      host = resolved.host;
      port = resolved.port;
      servername = `${svc.name}.${svc.namespace}.svc`;
    } else {
      url = new URL(cc.url);
      host = url.hostname;
      port = Number(url.port || 443);
      servername = url.hostname;
    }
    const uid = randomUUID();
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: rt.group, version: rt.version, kind: rt.kind },
        resource: { group: rt.group, version: rt.version, resource: rt.plural },
        subResource: sub,
        requestKind: { group: rt.group, version: rt.version, kind: rt.kind },
        requestResource: { group: rt.group, version: rt.version, resource: rt.plural },
        name: obj.metadata.name ?? '',
        namespace: obj.metadata.namespace,
        operation: op,
        userInfo: user,
        object: obj,
        oldObject: old ?? null,
        dryRun: false,
        options: { kind: op === 'CREATE' ? 'CreateOptions' : 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' },
      },
    };
    let answer: any;
    try {
      answer = await post(url, host, port, ca, servername, JSON.stringify(review));
    } catch (e) {
      if (hook.failurePolicy === 'Ignore') return { uid, allowed: true };
      throw new StatusError(500, 'InternalError', `Internal error occurred: failed calling webhook "${hook.name}": ${(e as Error).message}`);
    }
    const resp = answer?.response;
    if (answer?.apiVersion !== 'admission.k8s.io/v1' || answer?.kind !== 'AdmissionReview' || resp?.uid !== uid) {
      throw new StatusError(500, 'InternalError', `failed calling webhook "${hook.name}": bad AdmissionReview response`);
    }
    return resp;
  }

  /** Runs the mutating then the validating webhooks for a write; returns the object to store. */
  async admit(rt: ResourceType, op: 'CREATE' | 'UPDATE', input: KubeObject, old: KubeObject | undefined, sub?: string, user: UserInfo = ADMIN): Promise<KubeObject> {
    let obj = structuredClone(input);
    const nsLabels = this.namespaceLabels(obj.metadata.namespace);
    const hooksOf = (plural: string): any[] => {
      const t = findType('admissionregistration.k8s.io', 'v1', plural)!;
      return this.store.list(t).flatMap((cfg) => cfg.webhooks ?? []);
    };
    const matching = (h: any): boolean =>
      ruleMatches(h.rules, rt, op, sub) &&
      (!rt.namespaced || selectorMatches(h.namespaceSelector, nsLabels)) &&
      selectorMatches(h.objectSelector, obj.metadata.labels ?? {});
    for (const h of hooksOf('mutatingwebhookconfigurations').filter(matching)) {
      const resp = await this.review(h, rt, op, obj, old, sub, user);
      this.calls.push({ webhook: h.name, allowed: !!resp.allowed, message: resp.status?.message });
      if (!resp.allowed) throw this.denied(h, resp);
      if (resp.patch) {
        if (resp.patchType !== 'JSONPatch') throw new StatusError(500, 'InternalError', `webhook "${h.name}": patchType must be JSONPatch`);
        const ops = JSON.parse(Buffer.from(resp.patch, 'base64').toString('utf8')) as JsonPatchOp[];
        try {
          obj = applyJsonPatch(obj, ops);
        } catch (e) {
          throw new StatusError(500, 'InternalError', `webhook "${h.name}" returned an invalid patch: ${(e as Error).message}`);
        }
      }
    }
    for (const h of hooksOf('validatingwebhookconfigurations').filter(matching)) {
      const resp = await this.review(h, rt, op, obj, old, sub, user);
      this.calls.push({ webhook: h.name, allowed: !!resp.allowed, message: resp.status?.message });
      if (!resp.allowed) throw this.denied(h, resp);
    }
    return obj;
  }

  private denied(h: any, resp: any): StatusError {
    const code = resp.status?.code || 400;
    return new StatusError(code, resp.status?.reason || 'BadRequest', `admission webhook "${h.name}" denied the request: ${resp.status?.message ?? ''}`);
  }
}
