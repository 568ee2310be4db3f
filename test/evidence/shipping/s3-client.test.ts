import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { bodyDigests, S3Client } from '../../../src/evidence/shipping/s3-client.ts';
import { EMPTY_SHA256, encodeKeyPath, signRequest, uriEncode } from '../../../src/evidence/shipping/sigv4.ts';
import { isPortcullisError } from '../../../src/errors.ts';
import { startS3Server, type S3Server } from '../../support/s3-server.ts';

let s3: S3Server;
let client: S3Client;

before(async () => {
  s3 = await startS3Server({ buckets: ['evidence'] });
  client = s3.client();
});
after(async () => {
  await s3?.close();
});

async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isPortcullisError(e) ? e.code : `not a PortcullisError: ${(e as Error).message}`;
  }
}

describe('SigV4 signing (pure)', () => {
  it('encodes keys once, keeping slashes, and every reserved byte as uppercase %XX', () => {
    assert.equal(uriEncode('a b+c/é~', true), 'a%20b%2Bc/%C3%A9~');
    assert.equal(encodeKeyPath('b', 'x/y z'), '/b/x/y%20z');
  });

  it('matches the signatures of the examples in the Amazon S3 SigV4 documentation (GET with Range, PUT with a body, ListObjects query)', () => {
    const creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
    const at = new Date('2013-05-24T00:00:00Z');
    const sig = (h: Record<string, string>): string => /Signature=([0-9a-f]{64})$/.exec(h.authorization!)![1]!;
    const get = signRequest({ method: 'GET', url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'), headers: { range: 'bytes=0-9' }, payloadSha256: EMPTY_SHA256 }, creds, 'us-east-1', at);
    assert.equal(sig(get), 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    const body = Buffer.from('Welcome to Amazon S3.');
    const put = signRequest(
      {
        method: 'PUT',
        url: new URL('https://examplebucket.s3.amazonaws.com/' + uriEncode('test$file.text', true)),
        headers: { date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
        payloadSha256: bodyDigests(body).sha256,
      },
      creds,
      'us-east-1',
      at,
    );
    assert.equal(sig(put), '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
    const list = new URL('https://examplebucket.s3.amazonaws.com/');
    list.searchParams.set('max-keys', '2');
    list.searchParams.set('prefix', 'J');
    assert.equal(sig(signRequest({ method: 'GET', url: list, headers: {}, payloadSha256: EMPTY_SHA256 }, creds, 'us-east-1', at)), '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('signs the same request the same way, and differently for another body, time or secret', () => {
    const req = { method: 'PUT', url: new URL('http://127.0.0.1:1/b/k'), headers: {}, payloadSha256: 'ab'.repeat(32) };
    const at = new Date('2026-12-03T21:15:00Z');
    const creds = { accessKeyId: 'AK', secretAccessKey: 'SK' };
    const a = signRequest(req, creds, 'us-east-1', at).authorization;
    assert.equal(a, signRequest(req, creds, 'us-east-1', at).authorization);
    assert.match(a!, /^AWS4-HMAC-SHA256 Credential=AK\/20261203\/us-east-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/);
    assert.notEqual(a, signRequest({ ...req, payloadSha256: 'cd'.repeat(32) }, creds, 'us-east-1', at).authorization);
    assert.notEqual(a, signRequest(req, creds, 'us-east-1', new Date(at.getTime() + 1000)).authorization);
    assert.notEqual(a, signRequest(req, { ...creds, secretAccessKey: 'other' }, 'us-east-1', at).authorization);
  });
});

describe('S3Client against a real S3 server (versitygw)', () => {
  it('puts, heads, gets, lists and deletes, with keys that need encoding', async () => {
    const data = Buffer.from('{"seq":0}\n{"seq":1}\n');
    const key = 'ledgers/ns a/pod+1/ledger é.jsonl';
    const d = bodyDigests(data);
    const etag = await client.putObject('evidence', key, { data, ...d, metadata: { sha256: d.sha256 } });
    assert.equal(etag, createHash('md5').update(data).digest('hex'));
    const info = await client.headObject('evidence', key);
    assert.equal(info?.size, data.byteLength);
    assert.equal(info?.etag, etag);
    assert.equal(info?.metadata.sha256, d.sha256);
    assert.deepEqual(await client.getSmallObject('evidence', key), data);
    const listed = [];
    for await (const o of client.listObjects('evidence', 'ledgers/ns a/')) listed.push(o);
    assert.deepEqual(listed, [{ key, size: data.byteLength, etag }]);
    await client.deleteObject('evidence', key);
    assert.equal(await client.headObject('evidence', key), undefined);
    assert.equal(await client.getObject('evidence', key), undefined);
  });

  it('streams a body from a function', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const d = bodyDigests(data);
    await client.putObject('evidence', 'big', { data: () => Readable.from([data.subarray(0, 1000), data.subarray(1000)]), ...d });
    assert.equal((await client.headObject('evidence', 'big'))?.size, data.byteLength);
  });

  it('follows continuation tokens past 1000 keys', async () => {
    const data = Buffer.from('x');
    const d = bodyDigests(data);
    for (let i = 0; i < 1005; i += 67) {
      await Promise.all(Array.from({ length: Math.min(67, 1005 - i) }, (_, j) => client.putObject('evidence', `many/${String(i + j).padStart(5, '0')}`, { data, ...d })));
    }
    let n = 0;
    let last = '';
    for await (const o of client.listObjects('evidence', 'many/')) {
      assert.ok(o.key > last);
      last = o.key;
      n++;
    }
    assert.equal(n, 1005);
  });

  it('a body that is not what was signed, or a wrong secret, is refused by the store (OBJECT_STORE)', async () => {
    const data = Buffer.from('the real bytes');
    const d = bodyDigests(Buffer.from('other bytes!!!'));
    assert.equal(await errorCode(client.putObject('evidence', 'tampered', { data, ...d })), 'PORTCULLIS_OBJECT_STORE');
    assert.equal(await client.headObject('evidence', 'tampered'), undefined);
    const wrong = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: 'wrong' } });
    try {
      assert.equal(await errorCode(wrong.putObject('evidence', 'x', { data, ...bodyDigests(data) })), 'PORTCULLIS_OBJECT_STORE');
    } finally {
      await wrong.close();
    }
  });

  it('a store that is down is OBJECT_STORE, naming the endpoint', async () => {
    const down = new S3Client({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      await assert.rejects(down.headObject('evidence', 'k'), (e: unknown) => isPortcullisError(e) && e.code === 'PORTCULLIS_OBJECT_STORE' && e.message.includes('127.0.0.1:1'));
    } finally {
      await down.close();
    }
  });
});

describe('conditional upload', () => {
  it('putObjectIfAbsent never overwrites: a taken key answers undefined and keeps its bytes', async () => {
    const first = Buffer.from('first');
    const second = Buffer.from('second');
    assert.ok(await client.putObjectIfAbsent('evidence', 'once', { data: first, ...bodyDigests(first) }));
    assert.equal(await client.putObjectIfAbsent('evidence', 'once', { data: second, ...bodyDigests(second) }), undefined);
    assert.deepEqual(await client.getSmallObject('evidence', 'once'), first);
  });
});
