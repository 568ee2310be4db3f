/**
 * Validation of Kubernetes objects without a cluster: built-in kinds against
 * the Kubernetes OpenAPI schemas compiled into `kubernetes-models`, custom
 * resources against the `openAPIV3Schema` of their CRD (with ajv), with
 * unknown fields refused where the CRD would prune them (what
 * `kubectl apply --validate=strict` reports). Kinds of other projects
 * (cert-manager, prometheus-operator) have no schema here and are reported as
 * such, so a test can decide what to accept.
 */
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { filesUnder, readYamlDocuments } from './support.ts';

const require = createRequire(import.meta.url);

export interface KubeObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; [k: string]: unknown };
  [k: string]: unknown;
}

export type Verdict = { ok: true; by: string } | { ok: false; errors: string[] } | { ok: 'unknown'; reason: string };

type JsonSchema = Record<string, unknown>;

/** A CRD's structural schema as ajv JSON Schema: x-kubernetes-* dropped, unknown fields refused unless preserved. */
function toAjvSchema(s: JsonSchema, top = true): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-') || k === 'default' || k === 'description') continue;
    if (k === 'properties') out.properties = Object.fromEntries(Object.entries(v as Record<string, JsonSchema>).map(([p, ps]) => [p, toAjvSchema(ps, false)]));
    else if (k === 'items') out.items = toAjvSchema(v as JsonSchema, false);
    else if (k === 'additionalProperties' && typeof v === 'object') out.additionalProperties = toAjvSchema(v as JsonSchema, false);
    else out[k] = v;
  }
  // metadata is validated by the API server, not by the CRD's schema.
  if (top && out.properties) (out.properties as Record<string, JsonSchema>).metadata = { type: 'object' };
  if (s.type === 'object' && s.properties && !s['x-kubernetes-preserve-unknown-fields'] && s.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

export class KubeSchemas {
  private readonly ajv = new Ajv.default({ allErrors: true, strict: false });
  private readonly crds = new Map<string, ReturnType<Ajv.default['compile']>>();

  constructor() {
    addFormats.default(this.ajv);
    // Kubernetes' own formats: int32/int64 as integers, byte as base64.
    this.ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    this.ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  }

  /** Registers every served version of a CustomResourceDefinition. */
  addCrd(crd: any): void {
    for (const v of crd.spec.versions) {
      const key = `${crd.spec.group}/${v.name}/${crd.spec.names.kind}`;
      this.crds.set(key, this.ajv.compile(toAjvSchema(v.schema.openAPIV3Schema)));
    }
  }

  validate(obj: KubeObject): Verdict {
    const basics: string[] = [];
    if (typeof obj.apiVersion !== 'string' || !obj.apiVersion) basics.push('apiVersion is missing');
    if (typeof obj.kind !== 'string' || !obj.kind) basics.push('kind is missing');
    if (typeof obj.metadata?.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(obj.metadata.name)) basics.push(`metadata.name ${JSON.stringify(obj.metadata?.name)} is not a DNS-1123 name`);
    if (basics.length) return { ok: false, errors: basics };
    const apiVersion = obj.apiVersion as string;
    const kind = obj.kind as string;
    const crd = this.crds.get(`${apiVersion}/${kind}`);
    if (crd) {
      return crd(obj) ? { ok: true, by: 'CRD schema' } : { ok: false, errors: (crd.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`) };
    }
    let mod: any;
    try {
      mod = require(`kubernetes-models/${apiVersion}/${kind}`);
    } catch {
      return { ok: 'unknown', reason: `no schema for ${apiVersion} ${kind} (not a Kubernetes kind in kubernetes-models, no CRD given)` };
    }
    try {
      new mod[kind](obj).validate();
      return { ok: true, by: 'kubernetes-models' };
    } catch (e) {
      return { ok: false, errors: [(e as Error).message] };
    }
  }
}

/** Kinds of other projects: no schema here; accepted with a structural check. */
export const FOREIGN_KINDS = new Set(['cert-manager.io/v1 Issuer', 'cert-manager.io/v1 Certificate', 'monitoring.coreos.com/v1 ServiceMonitor']);

export function portcullisSchemas(): KubeSchemas {
  const schemas = new KubeSchemas();
  for (const f of filesUnder('manifests/crds', ['.yaml'])) for (const crd of readYamlDocuments(f)) schemas.addCrd(crd);
  return schemas;
}

/** Problems of one object, as lines naming it; empty when valid. */
export function problems(schemas: KubeSchemas, obj: KubeObject, where: string): string[] {
  const v = schemas.validate(obj);
  const name = `${where}: ${String(obj.kind)} ${String(obj.metadata?.name)}`;
  if (v.ok === true) return [];
  if (v.ok === false) return v.errors.map((e) => `${name}: ${e}`);
  const key = `${String(obj.apiVersion)} ${String(obj.kind)}`;
  if (!FOREIGN_KINDS.has(key)) return [`${name}: ${v.reason}`];
  return typeof obj.spec === 'object' && obj.spec !== null ? [] : [`${name}: spec is missing`];
}

