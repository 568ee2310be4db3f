/**
 * `Mcp-Param-<Name>` headers (MCP 2026-07-28, Streamable HTTP, custom headers
 * from tool parameters): a tool's input schema marks a primitive property with
 * `"x-mcp-header": "<Name>"`, and a client mirrors that argument of each
 * `tools/call` into the header (Base64 sentinel for values HTTP cannot carry;
 * no header for null or absent arguments) so that load balancers and the
 * server can route on it. The policy decides on the body; where such a header
 * is present it must say what the body says, as `Mcp-Name` must. Which
 * argument a header mirrors only the tool's definition says, so the gate
 * keeps the declarations of every tool a server listed through it; a header
 * it cannot check (a tool it never saw listed, a name the tool does not
 * declare, a message other than `tools/call`) is refused too: an
 * intermediary could route on what the policy never saw. Pure.
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { RawHeaders } from './headers.ts';
import type { JsonRpcMessage } from './mcp-action.ts';
import { decodeHeaderValue, MCP_PARAM_HEADER_PREFIX } from './mcp-headers.ts';

export interface ParamHeaderDeclaration {
  /** The full header name, lower-case: `mcp-param-region`. */
  header: string;
  /** The argument it mirrors: property names from the schema's root. */
  path: string[];
  type: string;
}

/** RFC 9110 token: the only names the specification admits. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Types a mirrored argument may have (`number` is not the specification's, but servers compare it numerically; accepted). */
const PRIMITIVE = new Set(['string', 'integer', 'boolean', 'number']);
/** Where `x-mcp-header` makes a schema invalid: anything not reached by `properties` alone. */
const ELSEWHERE = ['items', 'prefixItems', 'contains', 'additionalProperties', 'unevaluatedProperties', 'unevaluatedItems', 'propertyNames', 'patternProperties', 'dependentSchemas', 'oneOf', 'anyOf', 'allOf', 'not', 'if', 'then', 'else', '$defs', 'definitions'];
const DECIMAL = /^-?\d+(\.\d+)?$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether `x-mcp-header` occurs anywhere under `node` (a schema position where it is not allowed). */
function mentions(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(mentions);
  if (!isObject(node)) return false;
  return 'x-mcp-header' in node || Object.values(node).some(mentions);
}

/** The declaration a schema node makes: none, one, or `invalid` (where, name or type the specification does not allow). */
function declarationAt(node: Record<string, unknown>, path: string[]): ParamHeaderDeclaration | 'invalid' | undefined {
  if (!('x-mcp-header' in node)) return undefined;
  const name = node['x-mcp-header'];
  const type = typeof node.type === 'string' ? node.type : '';
  if (path.length === 0 || typeof name !== 'string' || !TOKEN.test(name) || !PRIMITIVE.has(type)) return 'invalid';
  return { header: MCP_PARAM_HEADER_PREFIX + name.toLowerCase(), path, type };
}

/**
 * The headers a tool's input schema declares, or undefined when the schema
 * breaks the specification's rules for them (such a tool is invalid, and its
 * headers cannot be trusted to mean anything).
 */
export function paramHeaderDeclarations(inputSchema: unknown): ParamHeaderDeclaration[] | undefined {
  const found: ParamHeaderDeclaration[] = [];
  const walk = (node: unknown, path: string[]): boolean => {
    if (!isObject(node)) return true;
    const d = declarationAt(node, path);
    if (d === 'invalid') return false;
    if (d) {
      if (found.some((f) => f.header === d.header)) return false;
      found.push(d);
    }
    if (ELSEWHERE.some((k) => mentions(node[k]))) return false;
    const properties = node.properties;
    if (!isObject(properties)) return true;
    return Object.entries(properties).every(([key, child]) => walk(child, [...path, key]));
  };
  return walk(inputSchema, []) ? found : undefined;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** Whether a decoded header value says what the argument says (integers and numbers compared as numbers: `42.0` is 42). */
function agrees(decoded: string, value: unknown, type: string): boolean {
  if (typeof value === 'number') {
    if ((type === 'integer' || type === 'number') && DECIMAL.test(decoded)) return Number(decoded) === value;
    return Number.isFinite(value) && decoded === String(value);
  }
  if (typeof value === 'boolean') return decoded === String(value);
  return typeof value === 'string' && decoded === value;
}

function mismatch(header: string, sent: string, body: string, index: number): PortcullisError {
  return new PortcullisError(
    ErrorCodes.MCP_HEADER_MISMATCH,
    `the ${header} header says ${JSON.stringify(sent.slice(0, 200))} but ${body.slice(0, 300)}: send Mcp-Param headers that mirror the arguments, as the tool's definition declares them, or none`,
    { header, sent: sent.slice(0, 512), index },
  );
}

/**
 * Throws MCP_HEADER_MISMATCH unless every `Mcp-Param-*` header present
 * mirrors the argument its tool declares for it, in every message of the
 * body. `declarationsOf(tool)` gives the declarations of the tool as its
 * server last listed it through the gate (undefined: never listed, or invalid).
 */
export function checkParamHeadersAgree(headers: RawHeaders, messages: readonly JsonRpcMessage[], declarationsOf: (tool: string) => readonly ParamHeaderDeclaration[] | undefined): void {
  const sent = Object.entries(headers).filter(([k]) => k.toLowerCase().startsWith(MCP_PARAM_HEADER_PREFIX));
  if (sent.length === 0) return;
  messages.forEach((m, index) => {
    for (const [key, raw] of sent) {
      // A repeated header is two claims; joined, it can equal no single argument.
      const value = Array.isArray(raw) ? raw.join(', ') : String(raw);
      const why = disagreement(key.toLowerCase(), value, m, declarationsOf);
      if (why !== undefined) throw mismatch(key.toLowerCase(), value, why, index);
    }
  });
}

/** What the body says that the header does not, or undefined when the header mirrors its argument. */
function disagreement(name: string, value: string, m: JsonRpcMessage, declarationsOf: (tool: string) => readonly ParamHeaderDeclaration[] | undefined): string | undefined {
  const params = isObject(m.params) ? m.params : {};
  const tool = typeof params.name === 'string' ? params.name : undefined;
  if (m.method !== 'tools/call' || tool === undefined) return `the JSON-RPC body is ${m.method === undefined ? 'a reply' : `a ${m.method}`}, whose parameters no header mirrors`;
  const d = declarationsOf(tool)?.find((x) => x.header === name);
  if (!d) return `tool ${JSON.stringify(tool)} declares no such header as this gate last saw it listed (a tool never listed through the gate, or listed with an invalid definition, declares none: list the tools again)`;
  return argumentDisagreement(value, valueAt(params.arguments, d.path), d);
}

function argumentDisagreement(value: string, arg: unknown, d: ParamHeaderDeclaration): string | undefined {
  const decoded = decodeHeaderValue(value);
  if (decoded === undefined) return 'a malformed Base64 sentinel mirrors nothing';
  if (arg === undefined || arg === null) return `the body has no argument ${d.path.join('.')}`;
  return agrees(decoded, arg, d.type) ? undefined : `the body says ${d.path.join('.')} = ${JSON.stringify(arg)}`;
}

/**
 * The text an `Mcp-Param-*` header carries for the argument it mirrors in a
 * `tools/call`, or undefined when the message mirrors nothing there (another
 * method, an undeclared header, an absent or non-primitive argument).
 * Encoded by the caller (mcp-headers.ts `encodeHeaderValue`).
 */
export function mirroredArgument(m: JsonRpcMessage, header: string, declarationsOf: (tool: string) => readonly ParamHeaderDeclaration[] | undefined): string | undefined {
  const params = isObject(m.params) ? m.params : {};
  if (m.method !== 'tools/call' || typeof params.name !== 'string') return undefined;
  const d = declarationsOf(params.name)?.find((x) => x.header === header);
  const value = d ? valueAt(params.arguments, d.path) : undefined;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}
