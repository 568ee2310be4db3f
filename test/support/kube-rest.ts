/**
 * A small admin REST client for reading and writing a real API server from
 * tests: what a test observes (status, events, leases) without a kubectl
 * process per poll. Objects are named by apiVersion + kind, as in manifests.
 * Writes that a test is *about* go through kubectl instead (ControlPlane).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { ControlPlane } from './control-plane.ts';

const PLURALS: Record<string, string> = {
  Pod: 'pods',
  Namespace: 'namespaces',
  Event: 'events',
  Secret: 'secrets',
  ServiceAccount: 'serviceaccounts',
  ConfigMap: 'configmaps',
  PolicyBundle: 'policybundles',
  ActionApproval: 'actionapprovals',
  Lease: 'leases',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
  CustomResourceDefinition: 'customresourcedefinitions',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
};

export class KubeStatusError extends Error {
  constructor(
    readonly code: number,
    readonly body: any,
  ) {
    super(`API server answered ${code}: ${body?.message ?? JSON.stringify(body)}`);
  }
}

export function resourcePath(apiVersion: string, kind: string, namespace?: string, name?: string): string {
  const plural = PLURALS[kind];
  if (!plural) throw new Error(`kube-rest: no plural known for kind ${kind}; add it to PLURALS`);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${plural}${name ? `/${name}` : ''}`;
}

export class KubeRest {
  private readonly cert: string;
  private readonly key: string;

  constructor(private readonly cp: ControlPlane) {
    this.cert = readFileSync(join(cp.dir, 'admin.crt'), 'utf8');
    this.key = readFileSync(join(cp.dir, 'admin.key'), 'utf8');
  }

  /** One request; resolves with the parsed body, rejects with KubeStatusError on a status ≥ 400. */
  send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<any> {
    const url = new URL(path, this.cp.url);
    return new Promise((resolve, reject) => {
      const req = request(url, { method, ca: this.cp.caPem, cert: this.cert, key: this.key, headers: body === undefined ? {} : { 'content-type': contentType } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let parsed: any = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON: keep the text */
          }
          if ((res.statusCode ?? 500) >= 400) reject(new KubeStatusError(res.statusCode ?? 500, parsed));
          else resolve(parsed);
        });
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<any | undefined> {
    try {
      return await this.send('GET', resourcePath(apiVersion, kind, namespace, name));
    } catch (e) {
      if (e instanceof KubeStatusError && e.code === 404) return undefined;
      throw e;
    }
  }

  async list(apiVersion: string, kind: string, namespace?: string): Promise<any[]> {
    return (await this.send('GET', resourcePath(apiVersion, kind, namespace))).items;
  }

  create(obj: any): Promise<any> {
    return this.send('POST', resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace), obj);
  }

  mergePatch(apiVersion: string, kind: string, namespace: string | undefined, name: string, patch: unknown, subresource = ''): Promise<any> {
    return this.send('PATCH', resourcePath(apiVersion, kind, namespace, name) + (subresource ? `/${subresource}` : ''), patch, 'application/merge-patch+json');
  }

  async delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<void> {
    try {
      await this.send('DELETE', resourcePath(apiVersion, kind, namespace, name));
    } catch (e) {
      if (!(e instanceof KubeStatusError && e.code === 404)) throw e;
    }
  }
}
