/**
 * Validation of what the policy returned against the decision schema
 * (design.md §3). Anything that does not match is refused, and the gate then
 * fails closed: a half-understood decision must not be executed.
 *
 * Unknown top-level keys are tolerated (authors like to return a rule name
 * for debugging), unknown keys inside `constraints`, `rewrite` and
 * `escalation` are not: a misspelled constraint such as `maxResponseByte`
 * silently ignored would lift a limit the author meant to set.
 */
import type { Constraints, Decision, Effect, Escalation, Rewrite } from './types.ts';
import { MAX_JSON_DEPTH } from './strict-json.ts';
import { PortcullisError, ErrorCodes } from '../errors.ts';
import { parseRedactPath } from './redact-json.ts';

const EFFECTS: ReadonlySet<string> = new Set<Effect>(['allow', 'deny', 'escalate', 'compute']);
const CONSTRAINT_KEYS = new Set(['timeoutMs', 'maxResponseBytes', 'stripHeaders', 'redact']);
const HTTP_REWRITE_KEYS = new Set(['method', 'path', 'query', 'headers', 'body', 'host', 'port', 'scheme']);
const MCP_REWRITE_KEYS = new Set(['name', 'arguments']);
const REWRITE_KEYS = new Set(['http', 'mcp']);
const ESCALATION_KEYS = new Set(['approvers', 'timeoutSeconds']);
/** RFC 9110 token: what a method or a header name may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value the upstream client would refuse (or that would split the request). */
const BAD_HEADER_VALUE = /[\0\r\n]/;
/** A host that would change the meaning of the request line or the authority. */
const BAD_HOST = /[\s/\\@?#]|^$/;

function invalid(why: string, value?: unknown): PortcullisError {
  return new PortcullisError(ErrorCodes.DECISION_INVALID, `policy decision does not match the schema: ${why}`, {
    decision: value,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw invalid(`unknown key "${k}" in ${where}`);
}

function positiveInt(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw invalid(`${where} must be a positive integer`);
  return v;
}

function stringList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw invalid(`${where} must be a list of strings`);
  return [...v];
}

function validateConstraints(v: unknown): Constraints {
  if (!isObject(v)) throw invalid('constraints must be an object');
  onlyKeys(v, CONSTRAINT_KEYS, 'constraints');
  const c: Constraints = {};
  if (v.timeoutMs !== undefined) c.timeoutMs = positiveInt(v.timeoutMs, 'constraints.timeoutMs');
  if (v.maxResponseBytes !== undefined) c.maxResponseBytes = positiveInt(v.maxResponseBytes, 'constraints.maxResponseBytes');
  if (v.stripHeaders !== undefined) c.stripHeaders = stringList(v.stripHeaders, 'constraints.stripHeaders').map((h) => h.toLowerCase());
  if (v.redact !== undefined) {
    c.redact = stringList(v.redact, 'constraints.redact');
    // Parsed now, not when the response arrives: a path that cannot be read
    // must refuse the call before the upstream sees it.
    for (const p of c.redact) {
      try {
        parseRedactPath(p);
      } catch {
        throw invalid(`constraints.redact path ${JSON.stringify(p)} cannot be read; use $.a.b, $.a[*].b, $.a[0] or $['key']`);
      }
    }
  }
  return c;
}

/** True when objects and arrays in `v` nest deeper than `limit` (the walk stops there). */
function nestsDeeperThan(v: unknown, limit: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (limit === 0) return true;
  return Object.values(v).some((x) => nestsDeeperThan(x, limit - 1));
}

/** A rewritten body is forwarded and recorded: it must stay inside the depth a request body may have. */
function checkDepth(v: unknown, where: string): void {
  if (nestsDeeperThan(v, MAX_JSON_DEPTH)) throw invalid(`${where} nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels; its evidence could not be recorded verifiably`);
}

type FieldCheck = (value: unknown) => void;

/** Rewritten request-line fields that must be strings; all are type-checked before any value is. */
const HTTP_STRING_FIELDS = ['method', 'path', 'host'] as const;

function checkPath(path: unknown): void {
  if (!(path as string).startsWith('/')) throw invalid('rewrite.http.path must start with "/"');
}

function checkMethod(method: unknown): void {
  if (!TOKEN.test(method as string)) throw invalid('rewrite.http.method must be an HTTP token');
}

function checkHost(host: unknown): void {
  if (BAD_HOST.test(host as string)) throw invalid('rewrite.http.host must be a bare host name or address');
}

function checkPort(port: unknown): void {
  if (positiveInt(port, 'rewrite.http.port') > 65535) throw invalid('rewrite.http.port must be at most 65535');
}

function checkScheme(scheme: unknown): void {
  if (scheme !== 'http' && scheme !== 'https') throw invalid('rewrite.http.scheme must be http or https');
}

function isStringList(x: unknown): boolean {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

function checkQuery(query: unknown): void {
  if (!(isObject(query) && Object.values(query).every(isStringList))) {
    throw invalid('rewrite.http.query must map names to lists of strings');
  }
}

function checkHeaders(headers: unknown): void {
  if (!(isObject(headers) && Object.values(headers).every((x) => typeof x === 'string'))) {
    throw invalid('rewrite.http.headers must map names to strings');
  }
  for (const [k, x] of Object.entries(headers)) {
    if (!TOKEN.test(k) || BAD_HEADER_VALUE.test(x as string)) throw invalid(`rewrite.http.headers entry ${JSON.stringify(k)} is not a valid header`);
  }
}

function checkBody(body: unknown): void {
  checkDepth(body, 'rewrite.http.body');
}

/**
 * Everything that could fail while forwarding is refused here, before
 * anything executes. The checks run in this order, on the fields present.
 */
const HTTP_FIELD_CHECKS: ReadonlyArray<readonly [string, FieldCheck]> = [
  ['path', checkPath],
  ['method', checkMethod],
  ['host', checkHost],
  ['port', checkPort],
  ['scheme', checkScheme],
  ['query', checkQuery],
  ['headers', checkHeaders],
  ['body', checkBody],
];

function validateHttpRewrite(h: unknown): NonNullable<Rewrite['http']> {
  if (!isObject(h)) throw invalid('rewrite.http must be an object');
  onlyKeys(h, HTTP_REWRITE_KEYS, 'rewrite.http');
  for (const k of HTTP_STRING_FIELDS) {
    if (h[k] !== undefined && typeof h[k] !== 'string') throw invalid(`rewrite.http.${k} must be a string`);
  }
  for (const [k, check] of HTTP_FIELD_CHECKS) {
    if (h[k] !== undefined) check(h[k]);
  }
  return h as NonNullable<Rewrite['http']>;
}

function validateMcpRewrite(m: unknown): NonNullable<Rewrite['mcp']> {
  if (!isObject(m)) throw invalid('rewrite.mcp must be an object');
  onlyKeys(m, MCP_REWRITE_KEYS, 'rewrite.mcp');
  if (m.name !== undefined && typeof m.name !== 'string') throw invalid('rewrite.mcp.name must be a string');
  if (m.arguments !== undefined && !isObject(m.arguments)) throw invalid('rewrite.mcp.arguments must be an object');
  checkDepth(m.arguments, 'rewrite.mcp.arguments');
  return m as NonNullable<Rewrite['mcp']>;
}

function validateRewrite(v: unknown): Rewrite {
  if (!isObject(v)) throw invalid('rewrite must be an object');
  onlyKeys(v, REWRITE_KEYS, 'rewrite');
  const r: Rewrite = {};
  if (v.http !== undefined) r.http = validateHttpRewrite(v.http);
  if (v.mcp !== undefined) r.mcp = validateMcpRewrite(v.mcp);
  if (!r.http && !r.mcp) throw invalid('rewrite must carry "http" or "mcp"');
  return r;
}

function validateEscalation(v: unknown): Escalation {
  if (!isObject(v)) throw invalid('escalation must be an object');
  onlyKeys(v, ESCALATION_KEYS, 'escalation');
  return {
    approvers: v.approvers === undefined ? [] : stringList(v.approvers, 'escalation.approvers'),
    timeoutSeconds: v.timeoutSeconds === undefined ? 0 : positiveInt(v.timeoutSeconds, 'escalation.timeoutSeconds'),
  };
}

/** The part every decision has: a known effect and a reason. */
function requiredPart(value: Record<string, unknown>): Decision {
  if (typeof value.effect !== 'string' || !EFFECTS.has(value.effect)) {
    throw invalid('effect must be one of allow, deny, escalate, compute', value);
  }
  if (typeof value.reason !== 'string') throw invalid('reason must be a string', value);
  return { effect: value.effect as Effect, reason: value.reason };
}

/**
 * Returns a clean, validated copy of the decision; throws DECISION_INVALID.
 * `escalation.timeoutSeconds` is 0 when the policy left it to the default.
 */
export function validateDecision(value: unknown): Decision {
  if (!isObject(value)) throw invalid('the entrypoint must return an object (is the entrypoint defined for this input?)', value);
  const d = requiredPart(value);
  if (value.constraints !== undefined) d.constraints = validateConstraints(value.constraints);
  if (value.rewrite !== undefined) d.rewrite = validateRewrite(value.rewrite);
  if (value.escalation !== undefined) d.escalation = validateEscalation(value.escalation);
  if (d.effect === 'compute' && !d.rewrite) throw invalid('effect "compute" needs a rewrite', value);
  if (d.effect === 'escalate' && !d.escalation) d.escalation = { approvers: [], timeoutSeconds: 0 };
  return d;
}
