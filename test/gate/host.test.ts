import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseAuthority, formatAuthority } from '../../src/gate/host.ts';
import { ErrorCodes } from '../../src/errors.ts';

test('host names are lower-cased and lose a trailing dot', () => {
  assert.deepEqual(normaliseAuthority('API.Example.COM.', 'https'), { host: 'api.example.com', port: 443 });
  assert.deepEqual(normaliseAuthority('Example.com:8080', 'http'), { host: 'example.com', port: 8080 });
});

test('every IPv4 spelling becomes the dotted quad', () => {
  for (const h of ['127.0.0.1', '0x7f.0.0.1', '127.1', '2130706433', '0177.0.0.1']) {
    assert.equal(normaliseAuthority(h + ':81', 'http').host, '127.0.0.1', h);
  }
});

test('IPv6 literals lose their brackets and are compressed', () => {
  assert.deepEqual(normaliseAuthority('[0:0:0:0:0:0:0:1]:9000', 'http'), { host: '::1', port: 9000 });
  assert.equal(formatAuthority('::1', 9000), '[::1]:9000');
});

test('userinfo and junk in the authority are refused', () => {
  for (const bad of ['user@evil.com', 'a b', '', 'host:99999', 'a/b']) {
    assert.throws(() => normaliseAuthority(bad, 'http'), (e: any) => e.code === ErrorCodes.BAD_REQUEST, bad);
  }
});
