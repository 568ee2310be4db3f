/**
 * A stand-in Kubernetes API server on loopback (node:http) that speaks the
 * real protocol for the resources Portcullis uses: list with resourceVersion,
 * `?watch=true` streams of newline-delimited events with BOOKMARKs, 410 Gone
 * for compacted versions, the status subresource, JSON and merge patches,
 * optimistic concurrency, and admission webhooks called over TLS.
 *
 * Test hooks: dropWatches() cuts every open watch, compact() forgets history,
 * expireWatches() sends 410 Gone on open watches; `admission` records calls.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { Admission, ADMIN, selectorMatches, type AdmissionTarget, type UserInfo } from './admission.ts';
import { applyJsonPatch, applyMergePatch, PatchError, type JsonPatchOp } from './patch.ts';
import { findType, typeOfKind, apiVersionOf, type ResourceType } from './resources.ts';
import { Store, StatusError, type HistoryEntry, type KubeObject } from './store.ts';
import { applySchema, type Schema } from './schema.ts';

interface Route {
  rt: ResourceType;
  ns?: string;
  name?: string;
  sub?: string;
}

interface OpenWatch {
  res: ServerResponse;
  close(): void;
  expire(): void;
}

export interface FakeKubeOptions {
  /** How often open watches that asked for bookmarks get one (ms). */
  bookmarkIntervalMs?: number;
  resolveService?: AdmissionTarget['resolveService'];
  /** Bearer tokens and who they authenticate (default: "fake-token" is kubernetes-admin). */
  users?: Record<string, UserInfo>;
}

function parseRoute(pathname: string): Route | undefined {
  const segs = pathname.split('/').filter(Boolean);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') [group, version, rest] = ['', segs[1] ?? '', segs.slice(2)];
  else if (segs[0] === 'apis') [group, version, rest] = [segs[1] ?? '', segs[2] ?? '', segs.slice(3)];
  else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const rt = findType(group, version, rest[2]!);
    if (rt?.namespaced) return { rt, ns: rest[1], name: rest[3], sub: rest[4] };
  }
  const rt = findType(group, version, rest[0] ?? '');
  if (!rt) return undefined;
  return { rt, name: rest[1], sub: rest[2] };
}

function labelsMatch(selector: string | null, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  const matchLabels: Record<string, string> = {};
  for (const part of selector.split(',')) {
    const [k, v] = part.split('=');
    if (k) matchLabels[k.trim()] = (v ?? '').trim();
  }
  return selectorMatches({ matchLabels }, labels ?? {});
}

function fieldsMatch(selector: string | null, obj: KubeObject): boolean {
  if (!selector) return true;
  return selector.split(',').every((part) => {
    const [k, v] = part.split('=');
    if (k === 'metadata.name') return obj.metadata.name === v;
    if (k === 'metadata.namespace') return obj.metadata.namespace === v;
    return true;
  });
}

/** Go's encoding/json writes map keys sorted, so the real API server returns objects with sorted keys. */
function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export class FakeKube {
  readonly store = new Store();
  readonly admission: Admission;
  private server: Server | undefined;
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket>();
  url = '';
  /** Every request as "METHOD path?query", for tests that check what a client sent. */
  readonly requests: string[] = [];
  private readonly saTokens = new Map<string, { username: string; audiences: string[] }>();
  private readonly schemas = new Map<ResourceType, Schema>();

  constructor(private readonly options: FakeKubeOptions = {}) {
    const resolve = options.resolveService ?? (() => { throw new Error('no service resolver configured'); });
    this.admission = new Admission(this.store, { resolveService: (ns, n, p) => resolve(ns, n, p) });
    this.store.validator = (rt, obj) => this.validate(rt, obj);
  }

  /** Serves a CustomResourceDefinition's schema: writes are defaulted, pruned and validated by it. */
  installCrd(crd: any): void {
    for (const v of crd.spec.versions) {
      const rt = findType(crd.spec.group, v.name, crd.spec.names.plural);
      if (!rt) throw new Error(`fake-kube: no resource type for ${crd.metadata.name}`);
      this.schemas.set(rt, v.schema.openAPIV3Schema);
    }
  }

  private validate(rt: ResourceType, obj: KubeObject): KubeObject {
    const schema = this.schemas.get(rt);
    if (!schema) return obj;
    const errors: string[] = [];
    const { metadata, apiVersion, kind } = obj;
    const checked = applySchema(obj, schema, '', errors) as KubeObject;
    if (errors.length > 0) {
      throw new StatusError(422, 'Invalid', `${rt.kind}.${rt.group} "${metadata.name}" is invalid: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}`);
    }
    return { ...checked, apiVersion, kind, metadata };
  }

  /** Listens on loopback; pass the old port to come back after close() (an API server outage). */
  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => this.fail(res, e));
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.dropWatches();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Writes a kubeconfig file pointing at this server, authenticating with `token`; returns its path. */
  /**
   * A projected service account token as the kubelet would mount it: opaque
   * here, known to the TokenReview endpoint for `audiences` only.
   */
  issueServiceAccountToken(namespace: string, serviceAccount: string, audiences: string[] = ['portcullis.dev']): string {
    const token = `sa-token-${randomUUID()}`;
    this.saTokens.set(token, { username: `system:serviceaccount:${namespace}:${serviceAccount}`, audiences });
    return token;
  }

  writeKubeconfig(namespace = 'default', token = 'fake-token'): string {
    const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));
    const path = join(dir, 'kubeconfig');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        `  cluster: { server: "${this.url}", insecure-skip-tls-verify: true }`,
        'users:',
        '- name: tester',
        `  user: { token: "${token}" }`,
        'contexts:',
        '- name: fake',
        `  context: { cluster: fake, user: tester, namespace: ${namespace} }`,
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return path;
  }

  dropWatches(): void {
    for (const w of [...this.watches]) w.close();
  }

  expireWatches(): void {
    for (const w of [...this.watches]) w.expire();
  }

  compact(): void {
    this.store.compact();
  }

  openWatchCount(): number {
    return this.watches.size;
  }

  /** Writes an object as `kubectl apply` would, through admission; returns the stored object. */
  async apply(obj: KubeObject, opts: { skipAdmission?: boolean } = {}): Promise<KubeObject> {
    const rt = typeOfKind(obj.apiVersion ?? '', obj.kind ?? '');
    if (!rt) throw new Error(`fake-kube: unknown kind ${obj.apiVersion} ${obj.kind}`);
    const ns = rt.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
    const old = this.store.tryGet(rt, ns, obj.metadata.name!);
    const input = structuredClone(obj);
    if (ns) input.metadata.namespace = ns;
    if (old) {
      // `kubectl apply` patches without a resourceVersion: unconditional, like here.
      const next = { ...input, metadata: { ...old.metadata, ...input.metadata } };
      delete next.metadata.resourceVersion;
      const admitted = opts.skipAdmission ? next : await this.admission.admit(rt, 'UPDATE', next, old);
      return this.store.update(rt, ns, obj.metadata.name!, admitted);
    }
    const admitted = opts.skipAdmission ? input : await this.admission.admit(rt, 'CREATE', input, undefined);
    return this.store.create(rt, ns, admitted);
  }

  get(apiVersion: string, kind: string, ns: string | undefined, name: string): KubeObject | undefined {
    const rt = typeOfKind(apiVersion, kind);
    if (!rt) throw new Error(`fake-kube: unknown kind ${apiVersion} ${kind}`);
    return this.store.tryGet(rt, ns, name);
  }

  list(apiVersion: string, kind: string, ns?: string): KubeObject[] {
    const rt = typeOfKind(apiVersion, kind);
    if (!rt) throw new Error(`fake-kube: unknown kind ${apiVersion} ${kind}`);
    return this.store.list(rt, ns);
  }

  private fail(res: ServerResponse, e: unknown): void {
    const err =
      e instanceof StatusError ? e
      : e instanceof PatchError ? new StatusError(422, 'Invalid', e.message)
      : new StatusError(500, 'InternalError', (e as Error).message);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.send(res, err.code, err.toStatus());
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(sortedKeys(body)));
  }

  private userOf(req: IncomingMessage): UserInfo {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const users = this.options.users ?? { 'fake-token': ADMIN };
    const user = token ? users[token] : undefined;
    if (!user) throw new StatusError(401, 'Unauthorized', 'Unauthorized');
    return user;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const user = this.userOf(req);
    if (req.method === 'POST' && url.pathname === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
      await readBody(req);
      return this.send(res, 201, { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {}, status: { userInfo: user } });
    }
    if (req.method === 'POST' && url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews') {
      const review = JSON.parse(await readBody(req)) as { spec?: { token?: string; audiences?: string[] } };
      const known = this.saTokens.get(review.spec?.token ?? '');
      const wanted = review.spec?.audiences?.length ? review.spec.audiences : ['https://kubernetes.default.svc'];
      const audiences = known ? wanted.filter((a) => known.audiences.includes(a)) : [];
      const status =
        known && audiences.length > 0 ?
          { authenticated: true, user: { username: known.username, groups: ['system:serviceaccounts', `system:serviceaccounts:${known.username.split(':')[2]}`] }, audiences }
        : { authenticated: false, error: known ? 'token audiences do not match' : 'invalid bearer token' };
      return this.send(res, 201, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: review.spec, status });
    }
    const route = parseRoute(url.pathname);
    if (!route) throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const { rt, ns, name, sub } = route;
    if (sub && (sub !== 'status' || !rt.status)) throw new StatusError(404, 'NotFound', `no subresource ${sub}`);
    const method = req.method ?? 'GET';
    if (method === 'GET' && !name) {
      if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') return this.watchStream(req, res, route, url);
      return this.listResponse(res, route, url);
    }
    if (method === 'GET') return this.send(res, 200, this.store.get(rt, ns, name!));
    if (method === 'POST' && !name) {
      const obj = JSON.parse(await readBody(req)) as KubeObject;
      obj.metadata ??= {};
      if (rt.namespaced) obj.metadata.namespace = ns;
      const admitted = await this.admission.admit(rt, 'CREATE', obj, undefined, undefined, user);
      return this.send(res, 201, this.store.create(rt, ns, admitted));
    }
    if (method === 'DELETE' && name) return this.send(res, 200, this.store.delete(rt, ns, name));
    if (method === 'PUT' && name) {
      const obj = JSON.parse(await readBody(req)) as KubeObject;
      if (obj.metadata?.name && obj.metadata.name !== name) throw new StatusError(400, 'BadRequest', 'name in body does not match the URL');
      const old = this.store.get(rt, ns, name);
      const admitted = sub ? obj : await this.admission.admit(rt, 'UPDATE', { ...obj, metadata: { ...obj.metadata, namespace: old.metadata.namespace } }, old, undefined, user);
      return this.send(res, 200, this.store.update(rt, ns, name, admitted, sub));
    }
    if (method === 'PATCH' && name) return this.patch(req, res, route, user);
    throw new StatusError(405, 'MethodNotAllowed', `${method} is not supported on ${url.pathname}`);
  }

  private async patch(req: IncomingMessage, res: ServerResponse, { rt, ns, name, sub }: Route, user: UserInfo): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const body = JSON.parse(await readBody(req));
    const old = this.store.get(rt, ns, name!);
    let next: KubeObject;
    if (type === 'application/json-patch+json') next = applyJsonPatch(old, body as JsonPatchOp[]);
    else if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') {
      next = applyMergePatch(old, body) as KubeObject;
    } else throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got "${type}")`);
    // A patch that does not name a resourceVersion is unconditional.
    const sentRv = type === 'application/json-patch+json' ? next.metadata?.resourceVersion : body?.metadata?.resourceVersion;
    if (!sentRv || sentRv === old.metadata.resourceVersion) next.metadata.resourceVersion = old.metadata.resourceVersion;
    const admitted = sub ? next : await this.admission.admit(rt, 'UPDATE', next, old, undefined, user);
    this.send(res, 200, this.store.update(rt, ns, name!, admitted, sub));
  }

  private listResponse(res: ServerResponse, { rt, ns }: Route, url: URL): void {
    const items = this.store
      .list(rt, ns)
      .filter((o) => labelsMatch(url.searchParams.get('labelSelector'), o.metadata.labels))
      .filter((o) => fieldsMatch(url.searchParams.get('fieldSelector'), o));
    this.send(res, 200, {
      kind: `${rt.kind}List`,
      apiVersion: apiVersionOf(rt),
      metadata: { resourceVersion: String(this.store.currentRv()) },
      items,
    });
  }

  private watchStream(req: IncomingMessage, res: ServerResponse, { rt, ns }: Route, url: URL): void {
    const rvParam = url.searchParams.get('resourceVersion');
    const wants = (o: KubeObject): boolean =>
      (!ns || o.metadata.namespace === ns) &&
      labelsMatch(url.searchParams.get('labelSelector'), o.metadata.labels) &&
      fieldsMatch(url.searchParams.get('fieldSelector'), o);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const line = (type: string, object: unknown): boolean => res.write(JSON.stringify({ type, object: sortedKeys(object) }) + '\n');
    const gone = (): void => {
      line('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 });
      res.end();
    };
    const rv = rvParam && rvParam !== '0' ? Number(rvParam) : undefined;
    if (rv !== undefined && rv < this.store.oldestRv()) {
      gone();
      return;
    }
    if (rv === undefined) {
      for (const o of this.store.list(rt, ns).filter(wants)) line('ADDED', o);
    } else {
      for (const e of this.store.since(rv, rt).filter((e) => wants(e.obj))) line(e.type, e.obj);
    }
    const onEvent = (e: HistoryEntry): void => {
      if (e.rt === rt && wants(e.obj)) line(e.type, e.obj);
    };
    const unsubscribe = this.store.subscribe(onEvent);
    const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true';
    const timer = bookmarks
      ? setInterval(() => line('BOOKMARK', { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata: { resourceVersion: String(this.store.currentRv()) } }), this.options.bookmarkIntervalMs ?? 1000)
      : undefined;
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const timeout = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
    const w: OpenWatch = {
      res,
      close: () => res.destroy(),
      expire: gone,
    };
    this.watches.add(w);
    const cleanup = (): void => {
      unsubscribe();
      if (timer) clearInterval(timer);
      if (timeout) clearTimeout(timeout);
      this.watches.delete(w);
    };
    res.on('close', cleanup);
    req.on('close', cleanup);
  }
}
