/**
 * Validation of a bundle's manifest (`portcullis.yaml`) and of its test files
 * (`tests/*.yaml`). Pure: takes parsed YAML, returns typed values, and names
 * the file and the field in every error.
 *
 * ```yaml
 * entrypoint: portcullis/decision        # or: entrypoints: [a/b, c/d]
 * tools:
 *   - { name: fs, kind: mcp, url: http://fs:8080/mcp, description: files }
 * tests:
 *   - { name: reads are allowed, input: {...}, want: { effect: allow, reason: ... } }
 * ```
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { BundleTestCase, ToolCredential, ToolEntry } from './types.ts';

export const DEFAULT_ENTRYPOINT = 'portcullis/decision';

export interface BundleManifest {
  entrypoints: string[];
  tools: ToolEntry[];
  tests: BundleTestCase[];
}

const MANIFEST_KEYS = new Set(['entrypoint', 'entrypoints', 'tools', 'tests']);
const TOOL_KEYS = new Set(['name', 'kind', 'url', 'description', 'allowSubPaths', 'allowQuery', 'credential', 'pins']);
const CREDENTIAL_KEYS = new Set(['name', 'header', 'prefix']);
const CREDENTIAL_NAME = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** Headers a credential cannot take: the gate or the HTTP framing owns them. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection', 'traceparent', 'tracestate', 'expect']);

/**
 * A tool's credential reference: a name the gate resolves from its own
 * sources, and how it is presented. The value is never in a bundle.
 */
function credential(file: string, field: string, value: unknown): ToolCredential {
  if (!isObject(value)) throw invalid(file, field, 'must be a mapping with name, header and optionally prefix');
  checkKeys(file, field, value, CREDENTIAL_KEYS);
  const name = requireString(file, `${field}.name`, value.name);
  if (!CREDENTIAL_NAME.test(name) || name.length > 63) throw invalid(file, `${field}.name`, "must be lowercase letters, digits, -, _ and . (a key of the gate's credentials)");
  const header = requireString(file, `${field}.header`, value.header).toLowerCase();
  if (!HEADER_NAME.test(header) || RESERVED_HEADERS.has(header)) throw invalid(file, `${field}.header`, `"${header}" cannot carry a credential`);
  const out: ToolCredential = { name, header };
  if (value.prefix !== undefined) {
    if (typeof value.prefix !== 'string' || /[\r\n\0]/.test(value.prefix)) throw invalid(file, `${field}.prefix`, 'must be a string without line breaks');
    out.prefix = value.prefix;
  }
  return out;
}
const TEST_KEYS = new Set(['name', 'input', 'want']);
const ENTRYPOINT = /^[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*$/;

export function invalid(file: string, field: string, problem: string): PortcullisError {
  const where = field ? `${file}: ${field}` : file;
  return new PortcullisError(ErrorCodes.BUNDLE_INVALID, `${where}: ${problem}`, { file, field });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(file: string, field: string, value: Record<string, unknown>, allowed: Set<string>): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      const at = field ? `${field}.${key}` : key;
      throw invalid(file, at, `unknown field (allowed: ${[...allowed].join(', ')})`);
    }
  }
}

function requireString(file: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(file, field, 'must be a non-empty string');
  return value;
}

function entrypoint(file: string, field: string, value: unknown): string {
  const text = requireString(file, field, value).replace(/^data\./, '').replaceAll('.', '/');
  if (!ENTRYPOINT.test(text)) throw invalid(file, field, `"${String(value)}" is not an entrypoint path like portcullis/decision`);
  return text;
}

function entrypoints(file: string, doc: Record<string, unknown>): string[] {
  if (doc.entrypoint !== undefined && doc.entrypoints !== undefined) {
    throw invalid(file, 'entrypoints', 'give either entrypoint or entrypoints, not both');
  }
  if (doc.entrypoints !== undefined) {
    if (!Array.isArray(doc.entrypoints) || doc.entrypoints.length === 0) {
      throw invalid(file, 'entrypoints', 'must be a non-empty list of paths');
    }
    const list = doc.entrypoints.map((e, i) => entrypoint(file, `entrypoints[${i}]`, e));
    const dup = list.find((e, i) => list.indexOf(e) !== i);
    if (dup) throw invalid(file, 'entrypoints', `"${dup}" is listed twice`);
    return list;
  }
  if (doc.entrypoint !== undefined) return [entrypoint(file, 'entrypoint', doc.entrypoint)];
  return [DEFAULT_ENTRYPOINT];
}

/** An absolute http(s) URL. */
function toolUrl(file: string, field: string, value: unknown): string {
  const url = requireString(file, field, value);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(file, field, `"${url}" is not an absolute URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalid(file, field, `"${url}" must use http or https`);
  }
  return url;
}

/** allowSubPaths and allowQuery: booleans, for MCP servers only; set on `entry` when true. */
function mcpFlags(file: string, field: string, value: Record<string, unknown>, entry: ToolEntry): void {
  for (const flag of ['allowSubPaths', 'allowQuery'] as const) {
    const v = value[flag];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw invalid(file, `${field}.${flag}`, 'must be true or false');
    if (entry.kind !== 'mcp') throw invalid(file, `${field}.${flag}`, 'applies to MCP servers (kind: mcp) only: HTTP tools pass every path and query to the policy');
    if (v) entry[flag] = true;
  }
}

function tool(file: string, field: string, value: unknown): ToolEntry {
  if (!isObject(value)) throw invalid(file, field, 'must be a mapping with name, kind and url');
  checkKeys(file, field, value, TOOL_KEYS);
  const name = requireString(file, `${field}.name`, value.name);
  if (value.kind !== 'mcp' && value.kind !== 'http') throw invalid(file, `${field}.kind`, 'must be "mcp" or "http"');
  const entry: ToolEntry = { name, kind: value.kind, url: toolUrl(file, `${field}.url`, value.url) };
  if (value.description !== undefined) {
    if (typeof value.description !== 'string') throw invalid(file, `${field}.description`, 'must be a string');
    entry.description = value.description;
  }
  mcpFlags(file, field, value, entry);
  if (value.credential !== undefined) entry.credential = credential(file, `${field}.credential`, value.credential);
  if (value.pins !== undefined) entry.pins = pins(file, `${field}.pins`, value.pins, entry.kind);
  return entry;
}

const PIN = /^sha256:[0-9a-f]{64}$/;

/** A catalog entry's tool pins (gate/tool-pin.ts). */
function pins(file: string, field: string, value: unknown, kind: ToolEntry['kind']): Record<string, string> {
  if (kind !== 'mcp') throw invalid(file, field, 'applies to MCP servers (kind: mcp) only');
  if (!isObject(value)) throw invalid(file, field, 'must be a mapping of tool name to sha256:<hex> (`portcullis mcp pin URL` prints it)');
  const out: Record<string, string> = {};
  for (const [name, pin] of Object.entries(value)) {
    if (typeof pin !== 'string' || !PIN.test(pin)) throw invalid(file, `${field}.${name}`, 'must be sha256: and 64 lower-case hex digits');
    out[name] = pin;
  }
  return out;
}

function tools(file: string, value: unknown): ToolEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(file, 'tools', 'must be a list');
  const list = value.map((t, i) => tool(file, `tools[${i}]`, t));
  const names = list.map((t) => t.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw invalid(file, 'tools', `tool "${dup}" is declared twice`);
  return list;
}

function testCase(file: string, field: string, value: unknown): BundleTestCase {
  if (!isObject(value)) throw invalid(file, field, 'must be a mapping with name, input and want');
  checkKeys(file, field, value, TEST_KEYS);
  const name = requireString(file, `${field}.name`, value.name);
  if (!('input' in value)) throw invalid(file, `${field}.input`, 'is required');
  if (!isObject(value.want)) throw invalid(file, `${field}.want`, 'must be a mapping with effect (and optionally reason)');
  checkKeys(file, `${field}.want`, value.want, new Set(['effect', 'reason']));
  const want: BundleTestCase['want'] = { effect: requireString(file, `${field}.want.effect`, value.want.effect) };
  if (value.want.reason !== undefined) want.reason = requireString(file, `${field}.want.reason`, value.want.reason);
  return { name, input: value.input, want };
}

/** A list of test cases: `tests:` of the manifest, or a whole `tests/*.yaml` file (a list or `{tests: [...]}`). */
export function parseTests(file: string, value: unknown, field = 'tests'): BundleTestCase[] {
  if (value === undefined || value === null) return [];
  const list = isObject(value) && field === '' ? value.tests : value;
  if (!Array.isArray(list)) throw invalid(file, field, 'must be a list of test cases');
  const prefix = field === '' ? 'tests' : field;
  return list.map((t, i) => testCase(file, `${prefix}[${i}]`, t));
}

export function parseManifest(file: string, doc: unknown): BundleManifest {
  if (doc === undefined || doc === null) return { entrypoints: [DEFAULT_ENTRYPOINT], tools: [], tests: [] };
  if (!isObject(doc)) throw invalid(file, '', 'must be a mapping (entrypoint, tools, tests)');
  checkKeys(file, '', doc, MANIFEST_KEYS);
  return { entrypoints: entrypoints(file, doc), tools: tools(file, doc.tools), tests: parseTests(file, doc.tests) };
}

/** Test names must be unique across the manifest and the test files, so failures can be named. */
export function checkUniqueTestNames(tests: { file: string; test: BundleTestCase }[]): void {
  const seen = new Map<string, string>();
  for (const { file, test } of tests) {
    const first = seen.get(test.name);
    if (first) throw invalid(file, 'tests', `test "${test.name}" is also defined in ${first}`);
    seen.set(test.name, file);
  }
}
