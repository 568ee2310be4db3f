/**
 * A pod's network as the kernel builds it, for the capture tests: two
 * network namespaces joined by a veth pair, made with `ip netns` (as root):
 *
 *   pod    10.77.0.2/24  fd77::2/64   default routes via the remote side
 *   remote 10.77.0.1/24  fd77::1/64   and the tool addresses (10.77.0.10,
 *                                     10.77.0.20, 10.77.0.53, fd77::10)
 *
 * Nothing is added to this machine's own network namespace, so concurrent
 * runs do not meet. `ip netns exec` mounts /etc/netns/NAME/{hosts,resolv.conf}
 * over /etc for what runs in the pod: tool names resolve as in a cluster.
 * Processes run in a namespace as a given UID with `setpriv`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

export const POD = { v4: '10.77.0.2', v6: 'fd77::2' } as const;
export const REMOTE = { gateway: '10.77.0.1', tool: '10.77.0.10', other: '10.77.0.20', dns: '10.77.0.53', tool6: 'fd77::10' } as const;

export interface CapturePod {
  pod: string;
  remote: string;
  /** Runs a command in a namespace as `uid` (root when undefined), with exactly `env`. */
  spawnIn(ns: string, uid: number | undefined, command: string, args: string[], env: Record<string, string>, cwd?: string): ChildProcess;
  /** Runs a command to completion in a namespace as root; throws with its output when it fails. */
  runIn(ns: string, command: string, args: string[], env?: Record<string, string>): string;
  close(): void;
}

function sh(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/**
 * Why the kernel will not give this process network namespaces (not root,
 * or namespaces refused, as in some containers), or undefined. A missing
 * tool is no reason to skip: it throws, naming the package (.ci/run installs
 * them).
 */
export function capturePodUnavailable(): string | undefined {
  for (const [tool, pkg] of [['ip', 'iproute2'], ['nft', 'nftables'], ['setpriv', 'util-linux']]) {
    if (sh(['which', tool!]).status !== 0) throw new Error(`the capture tests need ${tool}: apt-get install ${pkg} (.ci/run installs it)`);
  }
  if (process.getuid?.() !== 0) return 'creating network namespaces and nftables rules needs root';
  const probe = `pcprobe${process.pid}`;
  const r = sh(['ip', 'netns', 'add', probe]);
  if (r.status !== 0) return `the kernel refuses network namespaces here: ${r.out.trim()}`;
  sh(['ip', 'netns', 'del', probe]);
  return undefined;
}

export function createCapturePod(hosts: Record<string, string>, resolver: string): CapturePod {
  const tag = `pc${process.pid}`;
  const pod = `${tag}pod`;
  const remote = `${tag}rem`;
  const must = (args: string[]): string => {
    const r = sh(args);
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.out.trim()}`);
    return r.out;
  };
  const close = (): void => {
    for (const ns of [pod, remote]) sh(['ip', 'netns', 'del', ns]);
    rmSync(`/etc/netns/${pod}`, { recursive: true, force: true });
  };
  try {
    must(['ip', 'netns', 'add', pod]);
    must(['ip', 'netns', 'add', remote]);
    must(['ip', 'link', 'add', 'eth0', 'netns', pod, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', remote]);
    const inPod = (...a: string[]): string => must(['ip', '-n', pod, ...a]);
    const inRemote = (...a: string[]): string => must(['ip', '-n', remote, ...a]);
    for (const f of [inPod, inRemote]) {
      f('link', 'set', 'lo', 'up');
      f('link', 'set', 'eth0', 'up');
    }
    inPod('addr', 'add', `${POD.v4}/24`, 'dev', 'eth0');
    inPod('-6', 'addr', 'add', `${POD.v6}/64`, 'dev', 'eth0', 'nodad');
    inPod('route', 'add', 'default', 'via', REMOTE.gateway);
    inPod('-6', 'route', 'add', 'default', 'via', 'fd77::1');
    inRemote('addr', 'add', `${REMOTE.gateway}/24`, 'dev', 'eth0');
    inRemote('-6', 'addr', 'add', 'fd77::1/64', 'dev', 'eth0', 'nodad');
    for (const a of [REMOTE.tool, REMOTE.other, REMOTE.dns]) inRemote('addr', 'add', `${a}/32`, 'dev', 'eth0');
    inRemote('-6', 'addr', 'add', `${REMOTE.tool6}/128`, 'dev', 'eth0', 'nodad');
    mkdirSync(`/etc/netns/${pod}`, { recursive: true });
    writeFileSync(`/etc/netns/${pod}/hosts`, `127.0.0.1 localhost\n::1 localhost\n${Object.entries(hosts).map(([n, a]) => `${a} ${n}`).join('\n')}\n`);
    writeFileSync(`/etc/netns/${pod}/resolv.conf`, `nameserver ${resolver}\n`);
  } catch (e) {
    close();
    throw e;
  }
  return {
    pod,
    remote,
    spawnIn(ns, uid, command, args, env, cwd) {
      const asUser = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--'];
      return spawn('ip', ['netns', 'exec', ns, ...asUser, command, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    },
    runIn(ns, command, args, env = {}) {
      const r = spawnSync('ip', ['netns', 'exec', ns, command, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env } });
      if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} in ${ns} failed (${r.status}): ${r.stdout}${r.stderr}`);
      return r.stdout;
    },
    close,
  };
}

/** Collects a child's output lines; `until` resolves once a line (JSON when it parses) matches, or rejects with the output on timeout or exit. */
export class Lines {
  readonly lines: string[] = [];
  #waiters: { pred: (l: string) => boolean; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  constructor(readonly child: ChildProcess) {
    child.once('exit', (code) =>
      setImmediate(() => {
        for (const w of this.#waiters.splice(0)) w.reject(new Error(`exited (${code}); output:\n${this.text().slice(-4000)}`));
      }),
    );
    let buf = '';
    const on = (c: Buffer): void => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => (w.pred(line) ? (w.resolve(line), false) : true));
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
  }
  text(): string {
    return this.lines.join('\n');
  }
  until(pred: (line: string) => boolean, what: string, ms = 20_000): Promise<string> {
    const found = this.lines.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line ${what} within ${ms} ms; output:\n${this.text().slice(-4000)}`)), ms);
      if (this.child.exitCode !== null || this.child.signalCode !== null) return reject(new Error(`exited before a line ${what}; output:\n${this.text().slice(-4000)}`));
      this.#waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(new Error(`no line ${what}: ${e.message}`));
        },
      });
    });
  }
}

/** Parsed JSON lines of a child (other lines skipped). */
export function jsonLines(lines: Lines): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of lines.lines) {
    try {
      const v = JSON.parse(l) as unknown;
      if (v && typeof v === 'object') out.push(v as Record<string, unknown>);
    } catch {
      // not a JSON line
    }
  }
  return out;
}
