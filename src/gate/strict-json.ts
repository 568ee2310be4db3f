/**
 * JSON parsing that refuses duplicate object keys. `{"path":"/tmp","path":"/prod"}`
 * means `/prod` to JSON.parse but `/tmp` to parsers that keep the first key:
 * when the policy and the upstream could read different values, the request
 * is ambiguous and is refused (a smuggling vector).
 */
import { PortcullisError, ErrorCodes } from '../errors.ts';

/**
 * Scans valid JSON text for an object with a repeated key; returns the key or
 * undefined. Keys are compared decoded, so `"a"` and `"\u0061"` collide.
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) {
          escaped = true;
          i += 2;
          continue;
        }
        if (d === 0x22) break;
        i++;
      }
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const raw = text.slice(start + 1, i);
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : raw;
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i++;
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] !== null && stack.length > 0;
    }
    i++;
  }
  return undefined;
}

/** Parses JSON; throws BAD_REQUEST on syntax errors and JSON_DUPLICATE_KEY on repeated keys. */
export function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value === 'object' && value !== null) {
    const dup = findDuplicateKey(text);
    if (dup !== undefined) {
      throw new PortcullisError(
        ErrorCodes.JSON_DUPLICATE_KEY,
        `request body repeats the key ${JSON.stringify(dup)} in one object; send each key once`,
        { key: dup },
      );
    }
  }
  return value;
}
