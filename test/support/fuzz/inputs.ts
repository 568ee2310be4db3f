/**
 * Random JSON inputs in the shape of a tool call (design.md §3: `action`,
 * `context`, plus a `user`), drawn from small pools so that the policies'
 * comparisons are sometimes true; some keys go missing and some values take
 * another type, because policies meet those too. Also the data document the
 * policies read, and the one-step-smaller variants of a JSON value that the
 * shrinker tries.
 */

export type Rng = () => number;

/** Strings the inputs and the policies share, so that comparisons hit. */
export const STRINGS = [
  'fs', 'payments', 'deploy', 'shell', 'mcp', 'http', 'read_file', 'write_file', 'tools/call', 'initialize',
  'GET', 'POST', 'DELETE', '/prod/db.yaml', '/tmp/notes.txt', '/v1/charges', '../etc/passwd', 'admin', 'dev',
  'alice', 'approved', 'denied', 'enforce', '', 'A', 'é', 'pii-email', 'secret-key', 'a/b/c',
];

export const NUMBERS = [0, 1, -1, 2, 3, 10, 99.5, 100, 1000, 1e6, 0.1, -2.5, 7];

export function pick<T>(r: Rng, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

export function chance(r: Rng, p: number): boolean {
  return r() < p;
}

function strings(r: Rng, max: number): string[] {
  return Array.from({ length: Math.floor(r() * (max + 1)) }, () => pick(r, STRINGS));
}

/** Any JSON value, shallow: what a mistyped field holds. */
export function anyJson(r: Rng, depth = 1): unknown {
  switch (Math.floor(r() * (depth > 0 ? 7 : 5))) {
    case 0: return null;
    case 1: return chance(r, 0.5);
    case 2: return pick(r, NUMBERS);
    case 3:
    case 4: return pick(r, STRINGS);
    case 5: return Array.from({ length: Math.floor(r() * 3) }, () => anyJson(r, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 3); i > 0; i--) o[pick(r, STRINGS)] = anyJson(r, depth - 1);
      return o;
    }
  }
}

/** Drops some keys and retypes some values, at every level. */
function perturb(r: Rng, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (chance(r, 0.05) ? anyJson(r) : perturb(r, x)));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (chance(r, 0.08)) continue;
    out[k] = chance(r, 0.06) ? anyJson(r) : perturb(r, x);
  }
  return out;
}

export function toolCallInput(r: Rng): unknown {
  const type = pick(r, ['mcp', 'http']);
  const action: Record<string, unknown> = { type, tool: pick(r, STRINGS) };
  if (type === 'mcp') {
    action.mcp = {
      server: pick(r, ['fs', 'shell', 'deploy']),
      method: pick(r, ['tools/call', 'initialize', 'ping']),
      name: pick(r, STRINGS),
      arguments: { path: pick(r, STRINGS), content: pick(r, STRINGS), recursive: chance(r, 0.5) },
    };
  } else {
    action.http = {
      method: pick(r, ['GET', 'POST', 'DELETE']),
      path: pick(r, ['/v1/charges', '/v1/deployments', '/', pick(r, STRINGS)]),
      headers: { 'content-type': 'application/json', 'x-user': pick(r, STRINGS) },
      body: { amount: pick(r, NUMBERS), currency: pick(r, ['EUR', 'USD', '']), tags: strings(r, 3) },
    };
  }
  const input = {
    action,
    context: {
      mode: pick(r, ['enforce', 'observe']),
      approval: chance(r, 0.5) ? null : { verdict: pick(r, ['approved', 'denied']) },
      labels: strings(r, 3),
      dry_run: chance(r, 0.5),
      attempt: pick(r, NUMBERS),
    },
    user: { name: pick(r, STRINGS), roles: strings(r, 3), level: pick(r, NUMBERS) },
  };
  return perturb(r, input);
}

/** The data document: settings a tool-call policy would read. */
export function policyData(r: Rng): Record<string, unknown> {
  return {
    cfg: {
      tools: strings(r, 4),
      admins: strings(r, 2),
      limits: { fs: pick(r, NUMBERS), payments: pick(r, NUMBERS), deploy: pick(r, NUMBERS) },
      blocked: { paths: strings(r, 2), methods: strings(r, 2) },
    },
  };
}

/** Every JSON value one step simpler than `v`: a key or element dropped, or a leaf made plainer. */
export function* smallerJson(v: unknown): Generator<unknown> {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) yield [...v.slice(0, i), ...v.slice(i + 1)];
    for (let i = 0; i < v.length; i++) for (const s of smallerJson(v[i])) yield v.map((x, j) => (j === i ? s : x));
    return;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    for (const [k] of entries) yield Object.fromEntries(entries.filter(([j]) => j !== k));
    for (const [k, x] of entries) for (const s of smallerJson(x)) yield Object.fromEntries(entries.map(([j, y]) => [j, j === k ? s : y]));
    return;
  }
  if (v !== null) yield null;
  if (typeof v === 'string' && v !== '' && v !== 'a') yield 'a';
  if (typeof v === 'number' && v !== 0 && v !== 1) yield 1;
}
