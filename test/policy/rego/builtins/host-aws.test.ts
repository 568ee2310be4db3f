// providers.aws.sign_req on the host: SigV4 headers for a fixed instant.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { signAwsRequest } from '../../../../src/policy/rego/host-aws.ts';

const CONFIG = { aws_access_key: 'AKIDEXAMPLE', aws_secret_access_key: 'secret', aws_service: 's3', aws_region: 'us-east-1' };
const AT = 1451311705000000000; // 2015-12-28T14:08:25Z

it('adds the SigV4 headers and a deterministic signature', () => {
  const signed = signAwsRequest({ method: 'get', url: 'http://example.com/a?b=c', headers: { Foo: 'bar' } }, CONFIG, AT) as { headers: Record<string, string> };
  assert.equal(signed.headers['x-amz-date'], '20151228T140825Z');
  assert.equal(signed.headers.host, 'example.com');
  assert.equal(signed.headers['x-amz-content-sha256'], 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.match(signed.headers.Authorization!, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20151228\/us-east-1\/s3\/aws4_request,SignedHeaders=foo;host;x-amz-content-sha256;x-amz-date,Signature=[0-9a-f]{64}$/);
  assert.deepEqual(signAwsRequest({ method: 'get', url: 'http://example.com/a?b=c', headers: { Foo: 'bar' } }, CONFIG, AT), signed);
  const other = signAwsRequest({ method: 'get', url: 'http://example.com/a?b=d', headers: { Foo: 'bar' } }, CONFIG, AT) as { headers: Record<string, string> };
  assert.notEqual(other.headers.Authorization, signed.headers.Authorization);
  const unsigned = signAwsRequest({ method: 'put', url: 'https://example.com', raw_body: 'x' }, { ...CONFIG, disable_payload_signing: true }, AT) as { headers: Record<string, string> };
  assert.equal(unsigned.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
});

it('refuses incomplete requests and configurations', () => {
  assert.throws(() => signAwsRequest({}, CONFIG, AT), /missing required request parameters\(s\): \{"method", "url"\}/);
  assert.throws(() => signAwsRequest({ method: 'get', url: 'http://x' }, { aws_region: 'x' }, AT), /missing required AWS config/);
  assert.throws(() => signAwsRequest({ method: 'get', url: 'http://x' }, CONFIG, -1), /could not convert time_ns/);
});
