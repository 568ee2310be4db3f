/**
 * The stand-in API server's storage: objects per resource type, one global
 * resourceVersion counter, and a bounded history of watch events so a watch
 * can resume from a resourceVersion, or be told 410 Gone when that version
 * was compacted away.
 */
import { randomUUID, randomBytes } from 'node:crypto';
import { apiVersionOf, type ResourceType } from './resources.ts';

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: Record<string, any> & { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  [k: string]: any;
};

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface HistoryEntry {
  rv: number;
  type: WatchEventType;
  rt: ResourceType;
  obj: KubeObject;
}

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
  }
}

type Listener = (e: HistoryEntry) => void;

function keyOf(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
function specPart(o: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

export class Store {
  private rv = 1;
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>();
  private history: HistoryEntry[] = [];
  /** Oldest resourceVersion a watch may resume from. */
  private compactedRv = 0;
  private readonly listeners = new Set<Listener>();
  /** Checks and normalises an object before it is stored (CRD schemas); throws StatusError 422. */
  validator: ((rt: ResourceType, obj: KubeObject) => KubeObject) | undefined;

  currentRv(): number {
    return this.rv;
  }

  oldestRv(): number {
    return this.compactedRv;
  }

  /** Forget the history: watches resuming from an older version get 410 Gone. */
  compact(): void {
    this.history = [];
    this.compactedRv = this.rv;
  }

  since(rv: number, rt: ResourceType): HistoryEntry[] {
    return this.history.filter((e) => e.rv > rv && e.rt === rt);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private table(rt: ResourceType): Map<string, KubeObject> {
    let t = this.objects.get(rt);
    if (!t) this.objects.set(rt, (t = new Map()));
    return t;
  }

  list(rt: ResourceType, ns?: string): KubeObject[] {
    return [...this.table(rt).values()]
      .filter((o) => !ns || o.metadata.namespace === ns)
      .map((o) => structuredClone(o));
  }

  get(rt: ResourceType, ns: string | undefined, name: string): KubeObject {
    const o = this.table(rt).get(keyOf(rt.namespaced ? ns : undefined, name));
    if (!o) throw new StatusError(404, 'NotFound', `${rt.plural}${rt.group ? '.' + rt.group : ''} "${name}" not found`);
    return structuredClone(o);
  }

  tryGet(rt: ResourceType, ns: string | undefined, name: string): KubeObject | undefined {
    const o = this.table(rt).get(keyOf(rt.namespaced ? ns : undefined, name));
    return o && structuredClone(o);
  }

  private emit(type: WatchEventType, rt: ResourceType, obj: KubeObject): void {
    const e: HistoryEntry = { rv: Number(obj.metadata.resourceVersion), type, rt, obj: structuredClone(obj) };
    this.history.push(e);
    if (this.history.length > 10_000) this.history.shift();
    for (const l of this.listeners) l(e);
  }

  create(rt: ResourceType, ns: string | undefined, input: KubeObject): KubeObject {
    let obj = structuredClone(input);
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    obj.metadata ??= {};
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + randomBytes(3).toString('hex').slice(0, 5);
    if (!obj.metadata.name) throw new StatusError(422, 'Invalid', `${rt.kind}: metadata.name: Required value`);
    if (rt.namespaced) obj.metadata.namespace = ns ?? obj.metadata.namespace ?? 'default';
    else delete obj.metadata.namespace;
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    if (this.table(rt).has(key)) {
      throw new StatusError(409, 'AlreadyExists', `${rt.plural} "${obj.metadata.name}" already exists`);
    }
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    obj.metadata.generation = 1;
    obj.metadata.resourceVersion = String(++this.rv);
    if (rt.status && rt.group === 'portcullis.dev') delete obj.status;
    if (this.validator) obj = this.validator(rt, obj);
    this.table(rt).set(key, obj);
    this.emit('ADDED', rt, obj);
    return structuredClone(obj);
  }

  /** A full write. `subresource` = 'status' changes only status; otherwise status is kept when the type has a status subresource. */
  update(rt: ResourceType, ns: string | undefined, name: string, input: KubeObject, subresource?: string): KubeObject {
    const old = this.get(rt, ns, name);
    const rv = input.metadata?.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) {
      throw new StatusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${rt.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    let next: KubeObject;
    if (subresource === 'status') {
      next = { ...old, status: structuredClone(input.status) };
    } else {
      next = structuredClone(input);
      next.metadata = { ...structuredClone(input.metadata ?? {}) };
      for (const k of ['uid', 'creationTimestamp', 'generation', 'name', 'namespace']) next.metadata[k] = old.metadata[k];
      if (rt.status) next.status = old.status;
      if (specPart(next) !== specPart(old)) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    }
    next.apiVersion = apiVersionOf(rt);
    next.kind = rt.kind;
    if (this.validator) next = this.validator(rt, next);
    next.metadata.resourceVersion = String(++this.rv);
    this.table(rt).set(keyOf(old.metadata.namespace, name), next);
    this.emit('MODIFIED', rt, next);
    return structuredClone(next);
  }

  delete(rt: ResourceType, ns: string | undefined, name: string): KubeObject {
    const old = this.get(rt, ns, name);
    this.table(rt).delete(keyOf(old.metadata.namespace, name));
    old.metadata.resourceVersion = String(++this.rv);
    this.emit('DELETED', rt, old);
    return old;
  }
}
