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
  if (depth > 8 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((v, i) => {
      const r = redactHeadersDeep(v, headers, depth + 1);
      if (r !== v) (copy ??= [...value])[i] = r;
    });
    return copy ?? value;
  }
  if (value instanceof Error) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    let r: unknown;
    if (k.toLowerCase() === 'headers' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      r = redactHeaderValues(v as Record<string, unknown>, headers);
    } else {
      r = redactHeadersDeep(v, headers, depth + 1);
    }
    if (r !== v) (copy ??= { ...(value as Record<string, unknown>) })[k] = r;
  }
  return copy ?? value;
}

function redactHeaderValues(h: Record<string, unknown>, headers: ReadonlySet<string>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const k of Object.keys(h)) {
    if (headers.has(k.toLowerCase()) && h[k] !== REDACTED) (copy ??= { ...h })[k] = REDACTED;
  }
  return copy ?? h;
}
