/**
 * The approval page in a real browser: Debian's Chromium, driven by
 * playwright-core (no browser download), against a real `portcullis dev`
 * process. A charge above the shipped payments policy's threshold is held
 * (escalate); the page, signed in with the admin token, shows it live (no
 * reload: server-sent events) with what a person needs to decide; a click on
 * Approve as someone the policy did not name is refused and changes nothing;
 * as alice (group:payments by PORTCULLIS_APPROVER_GROUPS) it lets the call
 * through, and the payments API — a loopback server that logs what arrives —
 * receives the charge exactly once. The page breaks no rule of its own
 * Content-Security-Policy.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { DemoApi } from '../../src/demo/http-apis.ts';
import { launchChromium } from '../support/chromium.ts';
import { DevLines, type DevProcess } from '../support/portcullis-dev.ts';
import { startPaymentsDev, type PaymentsDev } from '../support/payments-dev.ts';

let live: PaymentsDev | undefined;
let dev: DevProcess;
let payments: DemoApi;
let browser: Browser | undefined;
let proxy: string;
let admin: string;

before(async () => {
  live = await startPaymentsDev('portcullis-approval-page-');
  ({ dev, payments } = live);
  proxy = await dev.address(DevLines.proxy);
  admin = await dev.address(DevLines.approvalPage);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await live?.close();
});

const charges = (): number[] => payments.log.filter((a) => a.method === 'POST').map((a) => JSON.parse(a.body).amount);

test('a held charge appears on the page, is approved with a click, and reaches the payments API once', async () => {
  const token = await dev.adminToken();
  const page = await browser!.newPage();
  const problems: string[] = [];
  // HTTP errors the test causes (401 before sign-in, mallory's 403) are expected; CSP refusals and script errors are not.
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));

  const served = await page.goto(`${admin}/approvals/`);
  assert.match(served!.headers()['content-security-policy'] ?? '', /script-src 'self'; style-src 'self'/);
  // Without the token the page asks for it, and shows nothing.
  await page.locator('#login').waitFor({ state: 'visible' });
  assert.match(await page.locator('#login-hint').textContent() ?? '', /admin-token/);
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.locator('.empty').waitFor();

  const pending = fetch(`${proxy}/tools/payments/v1/charges`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: 5000, card: 'tok_visa' }) });
  // Live: the page was not reloaded.
  const card = page.locator('article.call');
  await card.waitFor();
  const listed = (await (await fetch(`${admin}/v1/approvals`, { headers: { authorization: `Bearer ${token}` } })).json()) as { approvals: { id: string; inputHash: string }[] };
  const held = listed.approvals[0]!;
  const bundle = (await (await fetch(`${admin}/v1/bundle`)).json()) as { digest: string };
  const text = (await card.textContent()) ?? '';
  assert.match(text, /charges above the approval threshold need a human's approval/);
  assert.ok(text.includes(held.inputHash), 'the input hash is shown');
  assert.ok(text.includes(bundle.digest), 'the policy digest is shown');
  assert.ok(text.includes('group:payments'), 'the approvers are shown');
  assert.deepEqual(JSON.parse((await card.locator('pre.args').textContent())!).body, { amount: 5000, card: 'tok_visa' });
  assert.match((await card.locator('.left').textContent()) ?? '', /\d+ s$/);

  // Someone the policy did not name: refused on the page, the call stays held.
  await page.fill('#approver', 'mallory');
  await card.locator('button.approve').click();
  await card.locator('.result.error').waitFor();
  assert.match((await card.locator('.result').textContent()) ?? '', /PORTCULLIS_FORBIDDEN: mallory is not among the approvers/);
  assert.deepEqual(charges(), []);

  await page.fill('#approver', 'alice');
  await card.locator('button.approve').click();
  assert.equal((await pending).status, 201);
  await page.locator('.empty').waitFor();
  assert.deepEqual(charges(), [5000], 'the charge arrived exactly once');
  assert.deepEqual(problems, [], 'no script error and no CSP violation');
  await page.close();
});

test('a verdict must name the held call\'s input hash, and the page API refuses requests not from the page', async () => {
  const token = await dev.adminToken();
  const pending = fetch(`${proxy}/tools/payments/v1/charges`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: 7000 }) });
  let held: { id: string; inputHash: string } | undefined;
  while (!held) {
    const listed = (await (await fetch(`${admin}/v1/approvals`, { headers: { authorization: `Bearer ${token}` } })).json()) as { approvals: { id: string; inputHash: string }[] };
    held = listed.approvals[0];
  }
  const decide = (body: unknown, headers: Record<string, string>): Promise<Response> =>
    fetch(`${admin}/approvals/decide`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const page = { 'x-portcullis-page': '1', authorization: `Bearer ${token}` };
  const other = await decide({ id: held.id, verdict: 'approved', approver: 'alice', inputHash: 'sha256:' + '0'.repeat(64) }, page);
  assert.equal(other.status, 409);
  assert.equal(((await other.json()) as any).error.code, 'PORTCULLIS_APPROVAL_MISMATCH');
  assert.equal((await decide({ id: held.id, verdict: 'approved', approver: 'alice', inputHash: held.inputHash }, { authorization: page.authorization })).status, 403);
  assert.equal((await decide({ id: held.id, verdict: 'approved', approver: 'alice', inputHash: held.inputHash }, { 'x-portcullis-page': '1' })).status, 401);
  assert.equal((await fetch(`${admin}/approvals/events`, { headers: { 'x-portcullis-page': '1', authorization: 'Bearer wrong' } })).status, 401);
  assert.deepEqual(charges(), [5000], 'nothing more arrived');
  const rejected = await decide({ id: held.id, verdict: 'rejected', approver: 'alice', inputHash: held.inputHash }, page);
  assert.equal(rejected.status, 200);
  assert.equal((await pending).status, 403);
  assert.deepEqual(charges(), [5000]);
});

test('portcullis dev stops while the page is open: its live stream ends instead of holding the admin port', async () => {
  const token = await dev.adminToken();
  const res = await fetch(`${admin}/approvals/events`, { headers: { 'x-portcullis-page': '1', authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /^event: approvals\n/);
  dev.child.kill('SIGTERM');
  // The stream ends (the server closed it), and the process exits on its own.
  for (;;) if ((await reader.read()).done) break;
  assert.equal(await dev.exited, 0, dev.output.text);
});
