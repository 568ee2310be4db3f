/**
 * Which header values are secrets. The gate replaces them by their hash before
 * the policy or any record sees them (design.md §2); logs redact them again
 * wherever they appear, as a second line of defence.
 */

/** Lower-case header names whose values never leave the process in clear. */
export const DEFAULT_REDACTED_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-amz-security-token',
  'x-goog-api-key',
  'openai-api-key',
  'anthropic-api-key',
]);

/** What a redacted value is replaced with in logs. */
export const REDACTED = '[REDACTED]';

/**
 * pino redaction paths covering `headers.<name>` at the top level and up to
 * four objects deep (`req.headers`, `input.action.http.headers`, …).
 */
export function headerRedactionPaths(headers: readonly string[] = DEFAULT_REDACTED_HEADERS): string[] {
  const prefixes = ['', '*.', '*.*.', '*.*.*.', '*.*.*.*.'];
  const paths: string[] = [];
  for (const name of headers) {
    const key = /^[a-z_$][a-z0-9_$]*$/i.test(name) ? `.${name}` : `["${name}"]`;
    for (const p of prefixes) paths.push(`${p}headers${key}`);
  }
  return paths;
}

/** True when a header of this name must be redacted. */
export function isRedactedHeader(name: string, headers: readonly string[] = DEFAULT_REDACTED_HEADERS): boolean {
  return headers.includes(name.toLowerCase());
}
