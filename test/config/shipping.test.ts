import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadShippingConfig } from '../../src/config/shipping.ts';
import { loadObjectStoreAccess } from '../../src/config/object-store-access.ts';
import { loadWitnessStoreConfig } from '../../src/config/witness-store.ts';

const sidecar = { agent: { namespace: 'agents', pod: 'agent-0', serviceAccount: '', labels: {}, annotations: {} }, controllerUrl: 'http://controller:8080', ledgerFile: '/var/lib/portcullis/ledger.jsonl' };
const base = {
  PORTCULLIS_SHIP_TO: 's3://evidence/ledgers',
  PORTCULLIS_SHIP_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com',
  PORTCULLIS_SHIP_ACCESS_KEY_ID: 'AK',
  PORTCULLIS_SHIP_SECRET_ACCESS_KEY: 'SK',
};
const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('loadShippingConfig', () => {
  it('is off without PORTCULLIS_SHIP_TO: the ledger stays on the volume', () => {
    assert.equal(loadShippingConfig({}, sidecar), undefined);
  });

  it('puts each pod in a folder of its own, witnessed by the controller by default, frozen', () => {
    const c = loadShippingConfig(base, sidecar)!;
    assert.deepEqual(c.destination, { bucket: 'evidence', prefix: 'ledgers/agents/agent-0/' });
    assert.equal(c.witnessUrl, 'http://controller:8080');
    assert.equal(c.intervalMs, 5000);
    assert.equal(c.shutdownTimeoutMs, 20_000);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.destination) && Object.isFrozen(c.credentials));
    const uid = '0f5e7a2c-3b1d-4c8e-9a6f-2d4b8c1e7f30';
    assert.equal(loadShippingConfig({ ...base, PORTCULLIS_POD_UID: uid }, sidecar)!.destination.prefix, `ledgers/agents/agent-0/${uid}/`);
    assert.equal(loadShippingConfig({ ...base, PORTCULLIS_WITNESS_URL: 'none' }, sidecar)!.witnessUrl, '');
  });

  it('refuses what cannot work, naming the setting (PORTCULLIS_CONFIG)', () => {
    assert.equal(code(() => loadShippingConfig({ ...base, PORTCULLIS_SHIP_TO: 'evidence/ledgers' }, sidecar)), 'PORTCULLIS_CONFIG');
    assert.equal(code(() => loadShippingConfig({ ...base, PORTCULLIS_SHIP_ENDPOINT: '' }, sidecar)), 'PORTCULLIS_CONFIG');
    assert.equal(code(() => loadShippingConfig({ ...base, PORTCULLIS_SHIP_SECRET_ACCESS_KEY: '' }, sidecar)), 'PORTCULLIS_CONFIG');
    assert.equal(code(() => loadShippingConfig({ ...base, PORTCULLIS_SHIP_INTERVAL_MS: 'often' }, sidecar)), 'PORTCULLIS_CONFIG');
    assert.equal(code(() => loadShippingConfig(base, { ...sidecar, ledgerFile: '' })), 'PORTCULLIS_CONFIG');
  });
});

describe('loadObjectStoreAccess (verify/replay s3://)', () => {
  it('takes the usual AWS variables, then the sidecar names, and refuses no credentials', () => {
    const a = loadObjectStoreAccess({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_REGION: 'eu-west-1' });
    assert.equal(a.endpoint, 'https://s3.eu-west-1.amazonaws.com');
    assert.equal(loadObjectStoreAccess({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' }, 'http://127.0.0.1:9000/').endpoint, 'http://127.0.0.1:9000');
    assert.equal(loadObjectStoreAccess(base).credentials.accessKeyId, 'AK');
    assert.equal(code(() => loadObjectStoreAccess({})), 'PORTCULLIS_CONFIG');
  });

  it('never mixes the AWS credentials with the sidecar ones', () => {
    // AWS_ACCESS_KEY_ID chooses the AWS set: a shipping secret does not complete it.
    assert.equal(code(() => loadObjectStoreAccess({ ...base, AWS_ACCESS_KEY_ID: 'a' })), 'PORTCULLIS_CONFIG');
    const aws = loadObjectStoreAccess({ ...base, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', PORTCULLIS_SHIP_SESSION_TOKEN: 'ship' });
    assert.deepEqual(aws.credentials, { accessKeyId: 'a', secretAccessKey: 'b' });
    const ship = loadObjectStoreAccess({ ...base, AWS_SESSION_TOKEN: 'aws', PORTCULLIS_SHIP_SESSION_TOKEN: 'ship' });
    assert.deepEqual(ship.credentials, { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'ship' });
  });
});

describe('loadWitnessStoreConfig (controller)', () => {
  it('is off when unset, and needs an endpoint and credentials of its own when set', () => {
    assert.equal(loadWitnessStoreConfig({}), undefined);
    const env = { PORTCULLIS_WITNESS_STORE: 's3://evidence/witness', PORTCULLIS_WITNESS_S3_ENDPOINT: 'http://minio:9000', PORTCULLIS_WITNESS_S3_ACCESS_KEY_ID: 'w', PORTCULLIS_WITNESS_S3_SECRET_ACCESS_KEY: 'x' };
    assert.deepEqual(loadWitnessStoreConfig(env)!.location, { bucket: 'evidence', prefix: 'witness/' });
    assert.equal(code(() => loadWitnessStoreConfig({ ...env, PORTCULLIS_WITNESS_S3_SECRET_ACCESS_KEY: '' })), 'PORTCULLIS_CONFIG');
  });
});
