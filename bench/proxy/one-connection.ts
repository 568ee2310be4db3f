/**
 * Closed-loop latency on one connection: each request is sent when the last
 * answer has arrived, so nothing queues and every latency is the hop's own
 * (for a gate with a durable ledger: at least one fdatasync per decision).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { FixedRateRequest } from './fixed-rate.ts';

/** Latencies in µs, sorted; throws on any failed request. */
export async function oneConnection(url: string, count: number, request: FixedRateRequest = {}): Promise<number[]> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 1, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const sentAt = performance.now();
      const r = await pool.request({ path: u.pathname + u.search, method: request.method ?? 'GET', headers: request.headers ?? {}, body: request.body ?? null });
      await r.body.dump();
      if (r.statusCode !== 200) throw new Error(`${url}: HTTP ${r.statusCode} on one connection`);
      latencies.push((performance.now() - sentAt) * 1000);
    }
  } finally {
    await pool.close();
  }
  return latencies.sort((a, b) => a - b);
}
