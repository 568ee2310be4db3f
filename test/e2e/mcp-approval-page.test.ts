/**
 * Approval as an MCP 2026-07-28 client shows it to its user, end to end: a
 * real `portcullis dev` holds `delete_all` for approval (escalate, approver
 * user:alice); a real 2.x client that can show URLs is answered with an
 * input-required result whose URL elicitation opens the approval page on that
 * call; its handler opens the URL in Debian's Chromium (playwright-core, no
 * browser download), where the person signs in with the admin token, names
 * themself and clicks Approve; the client retries and the call runs, once, on
 * a real 2.x server that logs what it ran.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { freePort } from '../support/control-plane.ts';
import { launchChromium } from '../support/chromium.ts';
import { DevLines, startDev, type DevProcess } from '../support/portcullis-dev.ts';

let dev: DevProcess | undefined;
let dir: string;
let upstream: McpUpstream;
let browser: Browser | undefined;
let proxy: string;

const POLICY = `package portcullis

import rego.v1

default decision := {"effect": "allow", "reason": "protocol messages and harmless tools"}

decision := {"effect": "escalate", "reason": "delete_all deletes everything", "escalation": {"approvers": ["user:alice"], "timeoutSeconds": 120}} if {
	input.action.mcp.method == "tools/call"
	input.action.mcp.name == "delete_all"
	not input.context.approval.verdict == "approved"
}
`;

before(async () => {
  upstream = await startMcpUpstream('v2');
  dir = await mkdtemp(join(tmpdir(), 'portcullis-mcp-approval-page-'));
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'portcullis.yaml'), `entrypoint: portcullis/decision\ntools:\n  - name: srv\n    kind: mcp\n    url: ${upstream.url}\n`);
  await writeFile(join(dir, 'policies', 'decision.rego'), POLICY);
  // A known admin port: the URL the client is shown names it. Another
  // process may take a free port before dev binds it: then dev says so
  // (EADDRINUSE) and another port is tried.
  for (let attempt = 1; ; attempt++) {
    dev = startDev({ cwd: dir, adminPort: await freePort() });
    try {
      proxy = await dev.address(DevLines.proxy);
      break;
    } catch (e) {
      if (attempt >= 3 || !String((e as Error)?.message).includes('EADDRINUSE')) throw e;
    }
  }
  await dev.waitFor(DevLines.approvalPage);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await dev?.stop();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the client shows the approval page; a click there lets its retry run the call exactly once', async () => {
  const token = await dev!.adminToken();
  const shown: string[] = [];
  const client = new Client({ name: 'agent', version: '2.0.0' }, { capabilities: { elicitation: { url: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } });
  client.setRequestHandler('elicitation/create', async (req) => {
    const params = req.params as { mode?: string; url?: string };
    assert.equal(params.mode, 'url');
    shown.push(params.url!);
    // The user opens the address; their token goes after '#', which no server sees.
    const page = await browser!.newPage();
    await page.goto(`${params.url}#token=${encodeURIComponent(token)}`);
    const card = page.locator('article.call.focus');
    await card.waitFor();
    assert.match((await card.textContent()) ?? '', /delete_all deletes everything/);
    await page.fill('#approver', 'alice');
    await card.locator('button.approve').click();
    // Decided: the call leaves the page (a refusal would stay, with its error).
    await page.locator('article.call').waitFor({ state: 'detached' });
    await page.close();
    return { action: 'accept' as const };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy}/mcp/srv`)));
  const r = (await client.callTool({ name: 'delete_all', arguments: {} })) as { content: unknown };
  assert.deepEqual(r.content, [{ type: 'text', text: 'delete_all {}' }]);
  assert.equal(shown.length, 1);
  assert.equal(new URL(shown[0]!).pathname, '/approvals/');
  assert.equal(upstream.calls.filter((c) => c.name === 'delete_all').length, 1, 'ran exactly once');
  await client.close();
});
