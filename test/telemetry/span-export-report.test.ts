import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { spanExportReport } from '../../src/telemetry/span-export-report.ts';

test('lost spans are counted each time and logged at most once a minute, with how many were lost since', async () => {
  let text = '';
  const logger = createLogger({ destination: new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) }) });
  const metrics = createMetrics({ processMetrics: false });
  let now = 0;
  const report = spanExportReport(metrics, logger, () => now);
  report.exported(512);
  report.failed(3, new Error('http://127.0.0.1:4318/v1/traces answered 503'));
  for (let i = 0; i < 100; i++) report.dropped(1);
  now += 59_999;
  report.failed(2, new Error('still down'));
  now += 1;
  report.dropped(1);
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  assert.equal(lines.length, 2, 'one line at once, the next a minute later');
  assert.match(lines[0]!.err.message, /answered 503/);
  assert.deepEqual([lines[0]!.failed, lines[0]!.dropped], [3, 0]);
  assert.deepEqual([lines[1]!.failed, lines[1]!.dropped], [2, 101], 'the second line counts what was lost since the first');
  assert.match(lines[1]!.reason, /export queue is full/);
  const values = Object.fromEntries((await metrics.traceSpans.get()).values.map((v) => [v.labels.result, v.value]));
  assert.deepEqual(values, { exported: 512, failed: 5, dropped: 101 });
});
