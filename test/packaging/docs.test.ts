/**
 * The docs stay true to the code: every environment variable the
 * configuration modules read is in docs/configuration.md, and every relative
 * link of the README and docs/ points at a file that exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { filesUnder, root } from './support.ts';

const read = (f: string): string => readFileSync(join(root, f), 'utf8');

test('every PORTCULLIS_* variable read in src/config is documented in docs/configuration.md', () => {
  const doc = read('docs/configuration.md');
  const vars = new Set<string>();
  for (const f of filesUnder('src/config', ['.ts'])) {
    // Variables named as a setting's env, or looked up from env/get() — not error codes.
    for (const m of read(f).matchAll(/['"`](PORTCULLIS_[A-Z0-9_]+)['"`]/g)) vars.add(m[1]!);
  }
  assert.ok(vars.has('PORTCULLIS_PORT') && vars.has('PORTCULLIS_LEASE_NAME'), 'both the gate and the controller settings are found');
  const missing = [...vars].filter((v) => !doc.includes('`' + v + '`')).sort();
  assert.deepEqual(missing, []);
});

test('relative links in README.md and docs/ resolve', () => {
  const broken: string[] = [];
  for (const f of ['README.md', 'examples/README.md', 'examples/approvals/README.md', ...filesUnder('docs', ['.md'])]) {
    for (const m of read(f).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      if (!existsSync(join(root, dirname(f), target))) broken.push(`${f}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});

test('the docs the issue asks for exist', () => {
  for (const f of ['policy-authoring', 'kubernetes', 'architecture', 'evidence', 'threat-model', 'configuration', 'troubleshooting', 'verification']) {
    assert.ok(existsSync(join(root, 'docs', `${f}.md`)), `docs/${f}.md`);
  }
});
