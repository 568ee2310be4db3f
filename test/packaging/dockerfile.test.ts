/**
 * The Dockerfile, read as docker would (line continuations, ARG defaults in
 * FROM, stages): multi-stage, base images pinned to exact versions, a
 * lockfile install, a numeric non-root user, a HEALTHCHECK and OCI labels in
 * the final stage, the opa CLI copied from the official image. No docker
 * daemon is needed (and none exists here); building the image is
 * test/e2e/kind.sh's job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './support.ts';

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions with continuations joined and comments dropped; global ARG defaults; stages. */
export function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending === '') start = i + 1;
    if (line.trimStart().startsWith('#')) return;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/s.exec(full)!;
    instructions.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: start });
  });
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'ARG' && stages.length === 0) {
      const [k, v] = ins.args.split('=');
      args[k!.trim()] = (v ?? '').trim();
    } else if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      const image = m[1]!.replace(/\$\{?(\w+)\}?/g, (_, k: string) => args[k] ?? '');
      stages.push({ image, ...(m[2] ? { name: m[2] } : {}), instructions: [] });
    } else if (stages.length > 0) stages.at(-1)!.instructions.push(ins);
  }
  return { args, stages };
}

/** An exact version: a digest, or a tag with major.minor.patch (not latest, not a bare major). */
export function pinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag !== undefined && /^v?\d+\.\d+\.\d+([-.][\w.-]+)?$/.test(tag);
}

const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
const { stages } = parseDockerfile(text);
const stageNames = new Set(stages.map((s) => s.name));
const final = stages.at(-1)!;
const ops = (s: Stage, op: string): Instruction[] => s.instructions.filter((i) => i.op === op);

test('the parser joins continuations, resolves ARG defaults and finds stages', () => {
  const p = parseDockerfile('ARG IMG=node:1.2.3\nFROM ${IMG} AS a\nRUN a \\\n  b\n# c\nFROM a\nUSER 1:1\n');
  assert.deepEqual(p.stages.map((s) => [s.image, s.name]), [['node:1.2.3', 'a'], ['a', undefined]]);
  assert.equal(p.stages[0]!.instructions[0]!.args, 'a    b');
  assert.ok(pinned('node:24.11.1-bookworm-slim') && pinned('openpolicyagent/opa:1.10.1-static') && pinned(`node@sha256:${'a'.repeat(64)}`));
  assert.ok(!pinned('node:24') && !pinned('node:lts-slim') && !pinned('node') && !pinned('node:latest'));
});

test('multi-stage, every base image pinned to an exact version', () => {
  assert.ok(stages.length >= 3, 'an opa stage, a build stage and a runtime stage');
  for (const s of stages) {
    if (stageNames.has(s.image)) continue;
    assert.ok(pinned(s.image), `FROM ${s.image} is not pinned to an exact version`);
  }
  assert.ok(stages.some((s) => s.image.startsWith('openpolicyagent/opa:')), 'the opa CLI comes from the official image');
  assert.match(final.image, /^node:(2[02468])\.\d+\.\d+/, 'the runtime is an even-numbered (LTS) Node release');
});

test('reproducible install: npm ci from the lockfile, never npm install', () => {
  const runs = stages.flatMap((s) => ops(s, 'RUN')).map((i) => i.args);
  assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)));
  assert.ok(!runs.some((r) => /\bnpm (install|i)\b/.test(r)));
  const build = stages.find((s) => ops(s, 'RUN').some((i) => /\bnpm ci\b/.test(i.args)))!;
  assert.ok(ops(build, 'COPY').some((i) => /package-lock\.json/.test(i.args)), 'the lockfile is copied before npm ci');
  assert.ok(ops(build, 'RUN').some((i) => /npm prune --omit=dev/.test(i.args)), 'dev dependencies are dropped');
});

test('the final stage runs as a numeric non-root user, with HEALTHCHECK, labels and the opa binary', () => {
  const users = ops(final, 'USER');
  assert.ok(users.length > 0, 'USER is set');
  const [uid, gid] = users.at(-1)!.args.split(':');
  assert.match(uid!, /^\d+$/, 'numeric, so that runAsNonRoot can check it');
  assert.notEqual(Number(uid), 0);
  if (gid !== undefined) assert.match(gid, /^\d+$/);
  const chartUser = /runAsUser: (\d+)/.exec(readFileSync(join(root, 'charts/portcullis/values.yaml'), 'utf8'))![1];
  assert.equal(uid, chartUser, 'the image user is the chart\'s runAsUser');
  const health = ops(final, 'HEALTHCHECK');
  assert.equal(health.length, 1);
  assert.match(health[0]!.args, /healthz/);
  assert.match(health[0]!.args, /7071/, 'the sidecar admin port');
  assert.match(health[0]!.args, /8080/, 'the controller port');
  const labels = ops(final, 'LABEL').map((i) => i.args).join(' ');
  for (const key of ['title', 'description', 'version', 'revision', 'source', 'licenses']) assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`));
  assert.ok(ops(final, 'COPY').some((i) => /--from=opa\b.*\/opa\s+\/usr\/local\/bin\/opa/.test(i.args)));
  assert.match(ops(final, 'ENTRYPOINT')[0]?.args ?? '', /portcullis\.js/);
});

test('environment the image sets is valid for the code that reads it', () => {
  const env = stages.flatMap((s) => ops(s, 'ENV')).map((i) => i.args).join(' ');
  const compiler = /PORTCULLIS_COMPILER=(\S+)/.exec(env)?.[1];
  if (compiler !== undefined) assert.ok(['opa', 'portcullis'].includes(compiler), `PORTCULLIS_COMPILER=${compiler} is refused by selectCompiler`);
});

test('.dockerignore keeps the build context small and free of local state', () => {
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', 'dist', 'build', '.git', '.portcullis']) assert.ok(ignore.includes(p), `${p} is ignored`);
});
