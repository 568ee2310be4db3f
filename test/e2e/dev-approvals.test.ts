/**
 * Local approvals cannot be given by whoever reaches the admin port, nor in
 * any approver's name: `portcullis dev` (a real process) writes a fresh admin
 * token to a file only its user can read, the admin API refuses approvals
 * without it, and a verdict counts only from an approver the policy named
 * (the shipped payments policy names group:payments; the gate's
 * PORTCULLIS_APPROVER_GROUPS puts alice in it). The held charge reaches the
 * payments API — its own log says so — only after alice's approval.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { DemoApi } from '../../src/demo/http-apis.ts';
import { main } from '../../src/cli/main.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { DevLines, type DevProcess } from '../support/portcullis-dev.ts';
import { startPaymentsDev, type PaymentsDev } from '../support/payments-dev.ts';
import { until } from '../support/until.ts';

let live: PaymentsDev | undefined;
let dev: DevProcess;
let dir: string;
let payments: DemoApi;
let proxy: string;
let admin: string;

before(async () => {
  live = await startPaymentsDev('portcullis-dev-approvals-');
  ({ dev, dir, payments } = live);
  proxy = await dev.address(DevLines.proxy);
  admin = await dev.address(DevLines.admin);
});

after(async () => {
  await live?.close();
});

function cli(): { io: any; out: string[] } {
  const out: string[] = [];
  const sink = new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) });
  return { io: { stdout: sink, stderr: sink, env: {}, cwd: dir }, out };
}

const charges = (): number[] => payments.log.filter((a) => a.method === 'POST').map((a) => JSON.parse(a.body).amount);

function heldId(token: string): Promise<string> {
  return until(async () => {
    const res = await fetch(`${admin}/v1/approvals`, { headers: { authorization: `Bearer ${token}` } });
    const { approvals } = (await res.json()) as { approvals: { id: string }[] };
    return approvals[0]?.id;
  }, 'a held call');
}

test('the admin token file is written for its user alone; approvals without it are refused and the call stays held', async () => {
  const tokenFile = join(dir, '.portcullis', 'admin-token');
  assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
  assert.match(dev.output.text, /token in .*\.portcullis\/admin-token/);
  const token = (await readFile(tokenFile, 'utf8')).trim();
  const pending = fetch(`${proxy}/tools/payments/v1/charges`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: 5000 }) });
  const id = await heldId(token);

  const listed = await fetch(`${admin}/v1/approvals`);
  assert.equal(listed.status, 401);
  for (const authorization of [undefined, 'Bearer wrong', `Basic ${token}`]) {
    const res = await fetch(`${admin}/v1/approvals/${id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ verdict: 'approved', approver: 'alice' }),
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as any).error.code, ErrorCodes.UNAUTHENTICATED);
  }
  // With the token, but in the name of someone the policy did not name (group:payments is alice alone).
  const mallory = await fetch(`${admin}/v1/approvals/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ verdict: 'approved', approver: 'mallory' }),
  });
  assert.equal(mallory.status, 403);
  assert.match(((await mallory.json()) as any).error.message, /mallory is not among the approvers .*group:payments/);
  const { io: bob, out: bobOut } = cli();
  assert.equal(await main(['approve', id, '--admin', admin, '--approver', 'bob'], bob), 1);
  assert.match(bobOut.join(''), /PORTCULLIS_FORBIDDEN/);
  assert.deepEqual(charges(), [], 'nothing reached the payments API');

  // `portcullis approve` finds the token where dev wrote it (the working directory's .portcullis/).
  const { io, out } = cli();
  assert.equal(await main(['approve', id, '--admin', admin, '--approver', 'alice'], io), 0, out.join(''));
  assert.equal((await pending).status, 201);
  assert.deepEqual(charges(), [5000]);
});

test('`portcullis approve` without the token file is told where it is', async () => {
  const { io, out } = cli();
  assert.equal(await main(['approve', '--admin', admin, '--token-file', join(dir, 'nowhere')], io), 1);
  assert.match(out.join(''), /PORTCULLIS_UNAUTHENTICATED.*admin token/);
});
