// providers.aws.sign_req as opa eval (v1.22.4) signs: a body holding a set
// comes back as the policy gave it, and a request's own
// x-amz-content-sha256 is replaced by the payload's digest in the result
// while the signature covers the value the request brought (OPA's way).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opaAnswers, portcullisAnswers } from '../../../support/opa-agreement.ts';

const CONFIG = (unsigned: boolean) =>
  `{"aws_access_key": "MYAWSACCESSKEYGOESHERE", "aws_secret_access_key": "MYAWSSECRETACCESSKEYGOESHERE", "aws_service": "s3", "aws_region": "us-east-1", "disable_payload_signing": ${unsigned}}`;
const T = 1451311705000000000;

const RULES: Record<string, string> = {
  set_body: `providers.aws.sign_req({"method": "get", "url": "http://example.com", "body": {"example": {1, 2, 3, 4}}}, ${CONFIG(false)}, ${T})`,
  set_body_and_raw: `providers.aws.sign_req({"method": "get", "url": "http://example.com", "body": {"example": {1, 2}}, "raw_body": "{}"}, ${CONFIG(false)}, ${T})`,
  existing_sha_signed: `providers.aws.sign_req({"method": "get", "url": "https://example.com", "headers": {"foo": "bar", "x-amz-content-sha256": "existing-value"}, "body": {"example": {1, 2, 3, 4}}}, ${CONFIG(false)}, ${T})`,
  existing_sha_unsigned: `providers.aws.sign_req({"method": "get", "url": "https://example.com", "headers": {"foo": "bar", "x-amz-content-sha256": "existing-value"}, "body": {"example": {1, 2, 3, 4}}}, ${CONFIG(true)}, ${T})`,
  existing_sha_capitalised: `providers.aws.sign_req({"method": "get", "url": "https://example.com", "headers": {"X-Amz-Content-Sha256": "existing-value"}}, ${CONFIG(false)}, ${T})`,
  body_is_set: `is_set(providers.aws.sign_req({"method": "get", "url": "http://example.com", "body": {1}}, ${CONFIG(false)}, ${T}).body)`,
};

test('providers.aws.sign_req: bodies with sets and existing payload headers, as opa eval signs them', async () => {
  const [opa, ours] = await Promise.all([opaAnswers(RULES), portcullisAnswers(RULES)]);
  assert.deepEqual(ours, opa);
  assert.equal(ours.body_is_set, '[true]');
});
