/**
 * Which header values are secrets. The gate replaces them by their hash before
 * the policy or any record sees them (design.md §2); logs redact them again
 * wherever they appear, as a second line of defence. The default list of
 * names is the gate's (`DEFAULT_REDACTED_HEADERS`), so there is one list.
 */
import { DEFAULT_REDACTED_HEADERS } from '../gate/headers.ts';

/** What a redacted value is replaced with in logs. */
export const REDACTED = '[REDACTED]';

/** True when a header of this name must be redacted. */
export function isRedactedHeader(name: string, headers: readonly string[] = DEFAULT_REDACTED_HEADERS): boolean {
  return headers.includes(name.toLowerCase());
}

/**
 * A copy of `value` in which every `headers` object (at any depth up to 8)
 * has its secret headers replaced by `REDACTED`, whatever their case. Objects
 * without such headers are returned as they are, not copied.
 */
export function redactHeadersDeep(value: unknown, headers: ReadonlySet<string>, depth = 0): unknown {
  if (!walked(value, depth)) return value;
  if (Array.isArray(value)) return redactArray(value, headers, depth);
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const r = isHeaders(k, v) ? redactHeaderValues(v, headers) : redactHeadersDeep(v, headers, depth + 1);
    if (r !== v) (copy ??= { ...(value as Record<string, unknown>) })[k] = r;
  }
  return copy ?? value;
}

/** Objects and arrays down to depth 8 are walked; errors (pino serialises them itself) and scalars are not. */
function walked(value: unknown, depth: number): value is object {
  return depth <= 8 && typeof value === 'object' && value !== null && !(value instanceof Error);
}

function redactArray(value: unknown[], headers: ReadonlySet<string>, depth: number): unknown[] {
  let copy: unknown[] | undefined;
  value.forEach((v, i) => {
    const r = redactHeadersDeep(v, headers, depth + 1);
    if (r !== v) (copy ??= [...value])[i] = r;
  });
  return copy ?? value;
}

/** A `headers` object (any case): its values are the ones to redact. */
function isHeaders(key: string, v: unknown): v is Record<string, unknown> {
  return key.toLowerCase() === 'headers' && typeof v === 'object' && v !== null && !Array.isArray(v);
}

function redactHeaderValues(h: Record<string, unknown>, headers: ReadonlySet<string>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const k of Object.keys(h)) {
    if (headers.has(k.toLowerCase()) && h[k] !== REDACTED) (copy ??= { ...h })[k] = REDACTED;
  }
  return copy ?? h;
}
