/** `?wait=30s` (also `500ms`, `2m`, or bare seconds) for long polls, capped. */
export function parseWait(raw: unknown, maxMs: number): number | undefined {
  if (typeof raw !== 'string' || raw === '') return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  return Math.min(Math.round(ms), maxMs);
}
