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
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { freePort } from '../support/control-plane.ts';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
let child: ChildProcess | undefined;
let dir: string;
let upstream: McpUpstream;
let browser: Browser | undefined;
let proxy: string;
const output = { text: '' };

const POLICY = `package portcullis

import rego.v1

default decision := {"effect": "allow", "reason": "protocol messages and harmless tools"}

decision := {"effect": "escalate", "reason": "delete_all deletes everything", "escalation": {"approvers": ["user:alice"], "timeoutSeconds": 120}} if {
	input.action.mcp.method == "tools/call"
	input.action.mcp.name == "delete_all"
	not input.context.approval.verdict == "approved"
}
`;

function waitFor(pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = pattern.exec(output.text);
      if (m) {
        clearInterval(timer);
        resolve(m);
      } else if (child!.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`portcullis dev exited (${child!.exitCode}):\n${output.text}`));
      }
    }, 50);
  });
}

before(async () => {
  upstream = await startMcpUpstream('v2');
  dir = await mkdtemp(join(tmpdir(), 'portcullis-mcp-approval-page-'));
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'portcullis.yaml'), `entrypoint: portcullis/decision\ntools:\n  - name: srv\n    kind: mcp\n    url: ${upstream.url}\n`);
  await writeFile(join(dir, 'policies', 'decision.rego'), POLICY);
  // A known admin port: the URL the client is shown names it.
  const adminPort = await freePort();
  child = spawn(process.execPath, [join(root, 'bin', 'portcullis.js'), 'dev', '--policies', 'policies', '--port', '0', '--admin-port', String(adminPort), '--no-ledger'], {
    cwd: dir,
    env: { ...process.env, OTEL_SDK_DISABLED: 'true', PORTCULLIS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (output.text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output.text += c.toString()));
  proxy = (await waitFor(/export HTTP_PROXY=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  await waitFor(/approval page\s+http:\/\/127\.0\.0\.1:\d+\/approvals\//);
  const executablePath = process.env.PORTCULLIS_CHROMIUM ?? execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  browser = await chromium.launch({ executablePath, headless: true });
});

after(async () => {
  await browser?.close();
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the client shows the approval page; a click there lets its retry run the call exactly once', async () => {
  const token = (await readFile(join(dir, '.portcullis', 'admin-token'), 'utf8')).trim();
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
