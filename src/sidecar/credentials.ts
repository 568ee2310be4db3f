/**
 * Tool credentials that only the gate holds (design.md §1). A catalog tool
 * names one (`credential: {name, header, prefix}`); after a call to that
 * tool is allowed, the agent's own header of that name is removed and the
 * gate's is added, just before the request leaves. The value is read here
 * and written into the upstream request only: it is never in the policy
 * input (built earlier, from what the agent sent), a ledger entry, a span or
 * a log line.
 *
 * Which tool a request goes to is read from where it actually goes (scheme,
 * host, port, and the catalog URL's base path), after any rewrite: a
 * credential reaches its own tool's upstream and nothing else.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { ToolEntry } from '../policy/types.ts';
import type { CredentialSources } from '../config/credentials.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { UpstreamRequest } from './upstream.ts';
import { catalogToolFor } from './metric-tool.ts';

/** Headers the gate or the HTTP framing owns. */
const FRAMING_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection', 'traceparent', 'tracestate', 'expect']);

/** A mounted Secret is updated in place by the kubelet: values are read again after this long. */
const REREAD_MS = 10_000;

export class CredentialStore {
  readonly #sources: CredentialSources;
  readonly #now: () => number;
  readonly #cache = new Map<string, { value: string; at: number }>();

  constructor(sources: CredentialSources, now: () => number = Date.now) {
    this.#sources = sources;
    this.#now = now;
  }

  /** The credential's value; throws CREDENTIAL when the gate has none by that name. */
  async value(name: string): Promise<string> {
    const env = this.#sources.fromEnv(name);
    if (env !== undefined) return env;
    const cached = this.#cache.get(name);
    if (cached && this.#now() - cached.at < REREAD_MS) return cached.value;
    if (!this.#sources.dir) throw missing(name, 'no credential folder is configured (PORTCULLIS_CREDENTIALS_DIR) and no variable holds it');
    let text: string;
    try {
      text = await readFile(join(this.#sources.dir, name), 'utf8');
    } catch (e) {
      throw missing(name, `${join(this.#sources.dir, name)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    // A Secret written with a trailing newline (echo, kubectl create --from-file) means the same credential.
    const value = text.replace(/\r?\n$/, '');
    if (!value || /[\r\n\0]/.test(value)) throw missing(name, 'the value is empty or spans lines');
    this.#cache.set(name, { value, at: this.#now() });
    return value;
  }
}

function missing(name: string, why: string): PortcullisError {
  return new PortcullisError(ErrorCodes.CREDENTIAL, `credential "${name}" is not available to the gate: ${why}; the allowed call was not sent without it`, { credential: name });
}

/** A short fingerprint of a credential for records (never the value): which one was presented, comparable across calls. */
export function credentialFingerprint(value: string): string {
  return 'sha256:' + createHash('sha256').update(value).digest('hex').slice(0, 16);
}

function destinationOf(request: UpstreamRequest): { scheme: 'http' | 'https'; host: string; port: number; path: string } | undefined {
  try {
    const u = new URL(request.origin);
    const scheme = u.protocol === 'https:' ? 'https' : 'http';
    const path = request.path.split('?')[0]!;
    return { scheme, host: u.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : scheme === 'https' ? 443 : 80, path };
  } catch {
    return undefined;
  }
}

function toolOf(request: UpstreamRequest, tools: readonly ToolEntry[] | undefined): ToolEntry | undefined {
  const to = destinationOf(request);
  return to ? catalogToolFor(to, tools) : undefined;
}

/** The header a credential goes in, lower-cased; throws CREDENTIAL for one that cannot carry it. */
function credentialHeader(spec: NonNullable<ToolEntry['credential']>): string {
  // A PolicyBundle's catalog reaches here without the manifest parser's checks: the header is checked again.
  const header = spec.header.toLowerCase();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(header) || FRAMING_HEADERS.has(header)) throw missing(spec.name, `"${spec.header}" cannot carry a credential`);
  return header;
}

/**
 * Puts the credential of the catalog tool this request goes to on it (the
 * agent's own header of that name removed first). Returns what was presented
 * (tool, credential name, fingerprint) or undefined when the tool names no
 * credential. Throws CREDENTIAL when the tool names one the gate lacks.
 */
export async function presentCredential(
  store: CredentialStore | undefined,
  request: UpstreamRequest,
  tools: readonly ToolEntry[] | undefined,
): Promise<{ tool: string; credential: string; fingerprint: string } | undefined> {
  // Most catalogs name no credential: then no call needs its destination worked out.
  if (!tools?.some((t) => t.credential)) return undefined;
  const tool = toolOf(request, tools);
  const spec = tool?.credential;
  if (!tool || !spec) return undefined;
  const header = credentialHeader(spec);
  for (const h of Object.keys(request.headers)) if (h.toLowerCase() === header) delete request.headers[h];
  if (!store) throw missing(spec.name, 'this gate has no credential sources');
  const value = await store.value(spec.name);
  request.headers[header] = (spec.prefix ?? '') + value;
  return { tool: tool.name, credential: spec.name, fingerprint: credentialFingerprint(value) };
}
