/**
 * The controller's own credentials, acting as a person: every request
 * carries `Impersonate-User` and one `Impersonate-Group` line per group, so
 * the API server authorises it (RBAC) and admits it (the webhooks) as that
 * person, and refuses it unless the controller may impersonate them. Used
 * for a verdict from the approval page signed in through an authenticating
 * proxy (approvals/proxy-sign-in.ts).
 *
 * Plain `https.request`, not the generated client: its headers hold one
 * value per name, and a comma-joined `Impersonate-Group` would be read by
 * the API server as one group whose name has commas.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import type { KubeApi, KubeObject, ResourceRef } from './kube-api.ts';

export interface Impersonated {
  user: string;
  groups: readonly string[];
}

/** Where the API server is, and how this client's TLS and Authorization are set on a request (client-node-kube-api.ts). */
export interface Connection {
  server: string;
  apply(opts: RequestOptions): Promise<void>;
}

/** What a verdict needs of the API: read the object, patch it. */
export type VerdictApi = Pick<KubeApi, 'get' | 'mergePatch'>;

interface Answer {
  status: number;
  body: string;
}

function objectPath(ref: ResourceRef, namespace: string, name: string): string {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/${ref.plural}/${encodeURIComponent(name)}`;
}

/** The API server's refusal as an error kubeStatusCode reads (its Status message, its code). */
function statusError(what: string, a: Answer): Error {
  let message = a.body.slice(0, 500);
  try {
    message = (JSON.parse(a.body) as { message?: string }).message ?? message;
  } catch {
    // Not a Status object: the text is the message.
  }
  return Object.assign(new Error(`${what}: ${message}`), { code: a.status });
}

async function send(conn: Connection, o: { method: string; path: string; headers: OutgoingHttpHeaders; body?: string }): Promise<Answer> {
  const opts: RequestOptions = { method: o.method, headers: {} };
  // TLS (CA, client certificate) and the controller's Authorization, as the generated client sends them.
  await conn.apply(opts);
  const url = new URL(o.path, conn.server);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url, { ...opts, headers: { ...opts.headers, ...o.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

export function impersonating(conn: Connection, who: Impersonated): VerdictApi {
  // Node sends an array value as one header line per element.
  const as: OutgoingHttpHeaders = { 'impersonate-user': who.user, ...(who.groups.length > 0 ? { 'impersonate-group': [...who.groups] } : {}) };
  return {
    async get<T extends KubeObject>(ref: ResourceRef, namespace: string, name: string): Promise<T | undefined> {
      const a = await send(conn, { method: 'GET', path: objectPath(ref, namespace, name), headers: { ...as, accept: 'application/json' } });
      if (a.status === 404) return undefined;
      if (a.status !== 200) throw statusError(`get ${ref.plural} ${namespace}/${name} as ${who.user}`, a);
      return JSON.parse(a.body) as T;
    },
    async mergePatch<T extends KubeObject>(ref: ResourceRef, namespace: string, name: string, patch: unknown): Promise<T> {
      const body = JSON.stringify(patch);
      const headers = { ...as, accept: 'application/json', 'content-type': 'application/merge-patch+json', 'content-length': Buffer.byteLength(body) };
      const a = await send(conn, { method: 'PATCH', path: objectPath(ref, namespace, name), headers, body });
      if (a.status !== 200) throw statusError(`patch ${ref.plural} ${namespace}/${name} as ${who.user}`, a);
      return JSON.parse(a.body) as T;
    },
  };
}
