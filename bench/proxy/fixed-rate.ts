/**
 * An open-loop load generator at a fixed rate with microsecond latencies
 * (autocannon's histogram has 1 ms resolution, too coarse for the added
 * latency of a proxy). Requests are sent on schedule whatever the previous
 * ones are doing (open loop: a slow response does not slow the sending), and
 * each latency is counted from the moment its request was handed to the
 * client, so the timer's own lateness is not counted as the server's.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface FixedRateResult {
  sent: number;
  errors: number;
  /** Latencies in µs, sorted. */
  sorted: number[];
}

/** What is sent, every time: a GET by default. */
export interface FixedRateRequest {
  method?: 'GET' | 'POST';
  body?: Buffer;
  headers?: Record<string, string>;
}

export async function fixedRate(url: string, ratePerSecond: number, seconds: number, request: FixedRateRequest = {}, connections = 16): Promise<FixedRateResult> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const path = u.pathname + u.search;
  const method = request.method ?? 'GET';
  const total = Math.round(ratePerSecond * seconds);
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * ratePerSecond) / 1000) + 1);
      while (sent < due) {
        sent++;
        const sentAt = performance.now();
        inFlight.push(
          pool
            .request({ path, method, headers: request.headers ?? {}, body: request.body ?? null })
            .then(async (r) => {
              await r.body.dump();
              if (r.statusCode !== 200) errors++;
              else latencies.push((performance.now() - sentAt) * 1000);
            })
            .catch(() => {
              errors++;
            }),
        );
      }
      if (sent >= total) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inFlight);
  await pool.close();
  return { sent, errors, sorted: latencies.sort((a, b) => a - b) };
}
