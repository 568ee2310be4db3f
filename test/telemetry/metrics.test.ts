import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, headHashPrefix, setBundleInfo, setLedgerHead } from '../../src/telemetry/metrics.ts';

describe('createMetrics', () => {
  it('exposes the product metrics under Prometheus names, in its own registry', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.decisions.inc({ effect: 'deny', tool: 'write_file', mode: 'enforce', bundle: 'default' });
    a.evaluationSeconds.observe({ bundle: 'default' }, 0.00004);
    a.requestSeconds.observe({ effect: 'allow', mode: 'enforce' }, 0.002);
    a.ledgerAppends.inc({ kind: 'intent' });
    a.ledgerFsyncSeconds.observe(0.001);
    a.ledgerLost.inc({ kind: 'intent' });
    a.bundleReloads.inc({ bundle: 'default', result: 'success' });
    setBundleInfo(a, 'default', 'sha256:' + '1'.repeat(64), 'portcullis');
    setLedgerHead(a, 7, 'sha256:' + '2'.repeat(64));
    setLedgerHead(a, 8, 'sha256:00000000abcd' + '3'.repeat(52));
    const text = await a.registry.metrics();
    for (const line of [
      'portcullis_decisions_total{effect="deny",tool="write_file",mode="enforce",bundle="default"} 1',
      'portcullis_ledger_appends_total{kind="intent"} 1',
      'portcullis_ledger_lost_total{kind="intent"} 1',
      'portcullis_bundle_reloads_total{bundle="default",result="success"} 1',
      `portcullis_bundle_info{bundle="default",digest="sha256:${'1'.repeat(64)}",compiler="portcullis"} 1`,
      'portcullis_ledger_head_seq 8',
      `portcullis_ledger_head_hash_prefix ${0xabcd}`,
      'portcullis_policy_evaluation_seconds_count{bundle="default"} 1',
      'portcullis_request_duration_seconds_count{effect="allow",mode="enforce"} 1',
      'portcullis_ledger_fsync_seconds_count 1',
    ]) {
      assert.ok(text.includes(line), `missing: ${line}`);
    }
    assert.equal(headHashPrefix('sha256:ffffffffffff' + '0'.repeat(52)), 2 ** 48 - 1);
    assert.ok(!(await b.registry.metrics()).includes('portcullis_decisions_total{'), 'registries are separate');
  });

  it('adds Node.js process metrics when asked', async () => {
    const m = createMetrics();
    assert.match(await m.registry.metrics(), /portcullis_process_cpu_user_seconds_total/);
  });
});
