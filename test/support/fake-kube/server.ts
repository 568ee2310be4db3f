/**
 * A stand-in API server for the two things a real kube-apiserver cannot be
 * made to do at a chosen moment in a test: cut every open watch stream, and
 * answer 410 Gone because the history a watch would resume from has been
 * compacted away. Everything else is tested against the real API server
 * (test/support/control-plane.ts).
 *
 * It serves what an informer asks for and nothing more: list and watch
 * (newline-delimited events, BOOKMARKs, resume from a resourceVersion) of
 * custom resources under /apis/GROUP/VERSION/[namespaces/NS/]PLURAL, on plain
 * HTTP, for any bearer token. Tests change its objects directly with put()
 * and remove(), as another client's writes would.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; [k: string]: unknown };
  [k: string]: unknown;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEntry {
  rv: number;
  type: EventType;
  plural: string;
  obj: KubeObject;
}

interface OpenWatch {
  cut(): void;
  expire(): void;
}

export interface FakeKubeOptions {
  /** How often open watches that asked for bookmarks get one (ms). */
  bookmarkIntervalMs?: number;
}

/** /apis/GROUP/VERSION/[namespaces/NS/]PLURAL → plural and namespace. */
function parseCollection(pathname: string): { plural: string; namespace?: string } | undefined {
  const segs = pathname.split('/').filter(Boolean);
  if (segs[0] !== 'apis' || segs.length < 4) return undefined;
  if (segs[3] === 'namespaces' && segs.length === 6) return { plural: segs[5]!, namespace: segs[4] };
  return segs.length === 4 ? { plural: segs[3]! } : undefined;
}

export class FakeKube {
  url = '';
  /** Every request as "METHOD path?query", for tests that check what a client sent. */
  readonly requests: string[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<OpenWatch>();
  private readonly objects = new Map<string, { plural: string; obj: KubeObject }>();
  private readonly listeners = new Set<(e: HistoryEntry) => void>();
  private history: HistoryEntry[] = [];
  private rv = 1;
  /** Watches resuming from before this resourceVersion get 410 Gone. */
  private compactedRv = 0;

  constructor(private readonly options: FakeKubeOptions = {}) {}

  /** Listens on loopback; pass the old port to come back after close(). */
  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.cutWatches();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A kubeconfig pointing at this server; returns its path. */
  writeKubeconfig(): string {
    const path = join(mkdtempSync(join(tmpdir(), 'fake-kube-')), 'kubeconfig');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        // client-node refuses plain HTTP unless TLS verification is off.
        `clusters: [{ name: fake, cluster: { server: "${this.url}", insecure-skip-tls-verify: true } }]`,
        'users: [{ name: tester, user: { token: "fake-token" } }]',
        'contexts: [{ name: fake, context: { cluster: fake, user: tester, namespace: default } }]',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return path;
  }

  /** Creates or replaces an object, as another client's write would; open watches see it. */
  put(plural: string, obj: KubeObject): KubeObject {
    const key = `${plural}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const old = this.objects.get(key)?.obj;
    const stored = structuredClone(obj);
    stored.metadata.uid = old?.metadata.uid ?? randomUUID();
    stored.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key, { plural, obj: stored });
    this.emit({ rv: this.rv, type: old ? 'MODIFIED' : 'ADDED', plural, obj: stored });
    return structuredClone(stored);
  }

  /**
   * Deletes an object. `unseen`: no watch ever gets the event, and the history
   * is compacted past it (what a client misses while its watch is down and
   * the server compacts meanwhile); only a re-list can notice.
   */
  remove(plural: string, namespace: string | undefined, name: string, opts: { unseen?: boolean } = {}): void {
    const key = `${plural}/${namespace ?? ''}/${name}`;
    const old = this.objects.get(key)?.obj;
    if (!old) throw new Error(`fake-kube: ${key} does not exist`);
    this.objects.delete(key);
    const obj = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } };
    if (opts.unseen) this.compact();
    else this.emit({ rv: this.rv, type: 'DELETED', plural, obj });
  }

  /**
   * Forgets the watch history: a watch resuming from any resourceVersion
   * handed out so far gets 410 Gone. (The version moves on too, as it does
   * with writes elsewhere in a cluster, so that not even the latest bookmark
   * is a place to resume from.)
   */
  compact(): void {
    this.history = [];
    this.compactedRv = ++this.rv;
  }

  /** Cuts every open watch stream mid-response (a dropped connection). */
  cutWatches(): void {
    for (const w of [...this.watches]) w.cut();
  }

  /** Ends every open watch with an ERROR event, code 410 (Expired), as the API server does after compaction. */
  expireWatches(): void {
    for (const w of [...this.watches]) w.expire();
  }

  openWatchCount(): number {
    return this.watches.size;
  }

  private emit(e: HistoryEntry): void {
    this.history.push(e);
    for (const l of this.listeners) l(e);
  }

  private list(plural: string, namespace: string | undefined): KubeObject[] {
    return [...this.objects.values()]
      .filter((o) => o.plural === plural && (!namespace || o.obj.metadata.namespace === namespace))
      .map((o) => structuredClone(o.obj));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const collection = req.method === 'GET' ? parseCollection(url.pathname) : undefined;
    if (!collection) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `the stand-in serves list and watch only (${req.method} ${url.pathname})` }));
      return;
    }
    if (url.searchParams.get('watch') === 'true') return this.watch(req, res, collection, url);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items: this.list(collection.plural, collection.namespace) }));
  }

  private watch(req: IncomingMessage, res: ServerResponse, { plural, namespace }: { plural: string; namespace?: string }, url: URL): void {
    const wants = (e: HistoryEntry): boolean => e.plural === plural && (!namespace || e.obj.metadata.namespace === namespace);
    const line = (type: string, object: unknown): boolean => res.write(JSON.stringify({ type, object }) + '\n');
    const gone = (): void => {
      line('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 });
      res.end();
    };
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const rvParam = url.searchParams.get('resourceVersion');
    const from = rvParam && rvParam !== '0' ? Number(rvParam) : undefined;
    if (from !== undefined && from < this.compactedRv) return gone();
    if (from === undefined) for (const o of this.list(plural, namespace)) line('ADDED', o);
    else for (const e of this.history.filter((h) => h.rv > from && wants(h))) line(e.type, e.obj);
    const onEvent = (e: HistoryEntry): void => void (wants(e) && line(e.type, e.obj));
    this.listeners.add(onEvent);
    const bookmarks =
      url.searchParams.get('allowWatchBookmarks') === 'true'
        ? setInterval(() => line('BOOKMARK', { kind: 'Bookmark', metadata: { resourceVersion: String(this.rv) } }), this.options.bookmarkIntervalMs ?? 1000)
        : undefined;
    const w: OpenWatch = { cut: () => res.destroy(), expire: gone };
    this.watches.add(w);
    const cleanup = (): void => {
      this.listeners.delete(onEvent);
      if (bookmarks) clearInterval(bookmarks);
      this.watches.delete(w);
    };
    res.on('close', cleanup);
    req.on('close', cleanup);
  }
}
