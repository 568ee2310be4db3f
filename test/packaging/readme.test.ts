/**
 * The README's walk-through, run as written: every ```sh block after the
 * first is marked with `<!-- walkthrough: … -->` comments and run with bash
 * in a scratch folder against a real `portcullis dev` (what `npm start` runs)
 * and real demo tools. A block marked `background, ready=RE` keeps running
 * until RE appears in its output; the others must exit 0 and print every
 * `expect=RE` of theirs.
 *
 * What differs from a person's terminal, and why:
 * - ports 7070-7073 and 7080-7082 become free ports (tests run side by side),
 *   in the commands and in the copied policies' tool catalog;
 * - `npx portcullis` runs bin/portcullis.js of this checkout (the scratch
 *   folder is not the checkout);
 * - `npm start` is started by the test, with the command package.json names;
 * - PORTCULLIS_ADMIN_PORT names the moved admin port, for `portcullis approve`.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './support.ts';
import { capture, freePort, waitFor } from './processes.ts';

export interface WalkthroughBlock {
  line: number;
  code: string;
  background: boolean;
  ready?: RegExp;
  expect: RegExp[];
}

/** The ```sh blocks of a Markdown text with the walkthrough comments just above them. */
export function walkthroughBlocks(markdown: string): { first: string; blocks: WalkthroughBlock[]; unmarked: number[] } {
  const lines = markdown.split('\n');
  const blocks: WalkthroughBlock[] = [];
  const unmarked: number[] = [];
  let first: string | undefined;
  let marks: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^<!-- walkthrough: (.*) -->$/.exec(lines[i]!);
    if (m) {
      marks.push(m[1]!);
      continue;
    }
    if (lines[i] === '```sh') {
      const start = i;
      const body: string[] = [];
      while (lines[++i] !== '```') {
        if (i >= lines.length) throw new Error(`README.md:${start + 1}: unterminated code block`);
        body.push(lines[i]!);
      }
      const code = body.join('\n');
      if (first === undefined) first = code;
      else if (marks.length === 0) unmarked.push(start + 1);
      else {
        const block: WalkthroughBlock = { line: start + 1, code, background: false, expect: [] };
        for (const mark of marks) {
          const bg = /^background, ready=(.*)$/.exec(mark);
          const ex = /^expect=(.*)$/.exec(mark);
          if (bg) {
            block.background = true;
            block.ready = new RegExp(bg[1]!, 'm');
          } else if (ex) block.expect.push(new RegExp(ex[1]!, 'm'));
          else throw new Error(`README.md:${start}: unknown walkthrough mark "${mark}"`);
        }
        blocks.push(block);
      }
      marks = [];
      continue;
    }
    if (lines[i]!.trim() !== '') marks = [];
  }
  return { first: first ?? '', blocks, unmarked };
}

const children: ChildProcess[] = [];
let scratch: string | undefined;

after(async () => {
  for (const c of children) {
    // Each block runs in its own process group: bash and the node it started.
    if (c.exitCode === null && c.pid !== undefined) {
      try {
        process.kill(-c.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const BLOCK_LIMIT_MS = 120_000;
const README_PORTS = [7070, 7071, 7072, 7073, 7080, 7081, 7082];

function withPorts(text: string, ports: Map<number, number>): string {
  return text.replace(/\b(70[78]\d)\b/g, (m) => String(ports.get(Number(m)) ?? m));
}

function run(code: string, cwd: string, out: { text: string }, env: Record<string, string> = {}): ChildProcess {
  const shim = `npx() { if [ "$1" = portcullis ]; then shift; node ${JSON.stringify(join(root, 'bin', 'portcullis.js'))} "$@"; else command npx "$@"; fi; }\n`;
  const child = spawn('bash', ['-euo', 'pipefail', '-c', shim + code], {
    cwd,
    detached: true,
    env: { ...process.env, OTEL_SDK_DISABLED: 'true', PORTCULLIS_LOG_LEVEL: 'warn', USER: 'readme-reader', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return capture(child, out);
}

test('the README parser finds marked blocks and refuses unmarked ones', () => {
  const md = '```sh\nnpm start\n```\n\n<!-- walkthrough: expect=ok -->\n```sh\necho ok\n```\n\n```sh\necho unmarked\n```\n';
  const { first, blocks, unmarked } = walkthroughBlocks(md);
  assert.equal(first, 'npm start');
  assert.equal(blocks.length, 1);
  assert.deepEqual(blocks[0]!.expect, [/ok/m]);
  assert.deepEqual(unmarked, [10]);
});

test('the README starts with the two commands, and npm start is the gate on policies/', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const { first, unmarked } = walkthroughBlocks(readme);
  assert.match(first, /^npm install && npm start\s+#[^\n]*\nnpm test\s+#/);
  assert.deepEqual(unmarked, [], 'every sh block after the first is part of the walk-through');
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.scripts.start, 'node bin/portcullis.js dev --policies policies');
});

test('every command of the README walk-through does what the README says', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const { blocks } = walkthroughBlocks(readme);
  assert.ok(blocks.length >= 10, `found ${blocks.length} walk-through blocks`);
  const ports = new Map<number, number>();
  for (const p of README_PORTS) ports.set(p, await freePort());

  scratch = await mkdtemp(join(tmpdir(), 'portcullis-readme-'));
  await cp(join(root, 'policies'), join(scratch, 'policies'), { recursive: true });
  const manifest = join(scratch, 'policies', 'portcullis.yaml');
  await writeFile(manifest, withPorts(await readFile(manifest, 'utf8'), ports));

  // Terminal 1: `npm start`, i.e. package.json's start command, on the README's ports.
  const gateOut = { text: '' };
  const gate = run(`node ${JSON.stringify(join(root, 'bin', 'portcullis.js'))} dev --policies policies --port ${ports.get(7070)} --admin-port ${ports.get(7071)}`, scratch, gateOut);
  await waitFor(gateOut, /export HTTP_PROXY=/, gate, 'npm start');
  assert.match(gateOut.text, /loaded policies sha256:[0-9a-f]{64}/);

  for (const b of blocks) {
    let code = withPorts(b.code, ports);
    // The demo tools' ports are flags; the README relies on their defaults.
    if (/portcullis demo-tools\s*$/.test(code)) code += ` --fs-port ${ports.get(7080)} --payments-port ${ports.get(7081)} --deploy-port ${ports.get(7082)}`;
    const out = { text: '' };
        // `portcullis approve` finds the gate at the default admin port, which moved with the others.
    const child = run(code, scratch, out, { PORTCULLIS_ADMIN_PORT: String(ports.get(7071)) });
    if (b.background) {
      await waitFor(out, b.ready!, child, `README.md:${b.line}`);
      continue;
    }
    // A guard against a block that never ends (not a speed assertion).
    const status = await new Promise<number | string | null>((r) => {
      const guard = setTimeout(() => r(`still running after ${BLOCK_LIMIT_MS / 1000} s`), BLOCK_LIMIT_MS);
      child.once('close', (code) => {
        clearTimeout(guard);
        r(code);
      });
    });
    assert.equal(status, 0, `README.md:${b.line} exited ${status}:\n${out.text}`);
    for (const re of b.expect) assert.match(out.text, re, `README.md:${b.line}: output lacks ${re}:\n${out.text}`);
  }
});
