/**
 * Waits for a condition the test cannot be told about (a watch delivering,
 * a log line written, an API server applying RBAC): polls `f` until it
 * returns a truthy value and resolves with it, or fails naming `what` after
 * `timeoutMs`. Never a fixed sleep: the test goes on the moment it holds.
 */
export async function until<T>(f: () => T | Promise<T>, what: string, timeoutMs = 20_000, intervalMs = 50): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
