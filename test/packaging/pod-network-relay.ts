/**
 * The part of pod-network.ts that runs inside the new network namespace
 * (`unshare --net`): it brings loopback up, gives it the pod's address, opens
 * one unix socket per port that forwards to podIp:port, then runs the command
 * with exactly the environment it was given, and exits as the command does.
 *
 * Unix sockets are files, outside any network namespace: that is how the test
 * process, which stays in the machine's namespace, reaches listeners that
 * exist only in this one.
 *
 * Usage: node --import tsx pod-network-relay.ts SPEC.json
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { RelaySpec } from './pod-network.ts';

const fail = (message: string): never => {
  process.stderr.write(`pod-network-relay: ${message}\n`);
  process.exit(70);
};

const spec = JSON.parse(readFileSync(process.argv[2] ?? fail('no spec file given'), 'utf8')) as RelaySpec;

// A new namespace has only `lo`, and it is down. The pod's address is put on
// it too, so that a listener bound to localhost alone is not reachable at the
// pod's address: as for the kubelet's probes and a Service's traffic.
for (const args of [['link', 'set', 'lo', 'up'], ['addr', 'add', `${spec.podIp}/32`, 'dev', 'lo']]) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) fail(`ip ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`);
}

function relay(port: number): Promise<Server> {
  const server = createServer((inbound) => {
    const outbound = connect(port, spec.podIp);
    // A refused connection (nothing listens yet) closes the inbound socket, which the test sees and retries.
    outbound.on('error', () => inbound.destroy());
    inbound.on('error', () => outbound.destroy());
    inbound.pipe(outbound).pipe(inbound);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(join(spec.socketDir, `${port}.sock`), () => resolve(server));
  });
}

const servers = await Promise.all(spec.ports.map(relay));
const child = spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', 'inherit', 'inherit'] });
child.once('error', (e) => fail(`${spec.command}: ${e.message}`));
// The test closes our stdin to stop the command, and so does its own end.
// As the first process of its PID namespace, the relay takes no signal it has no handler for.
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.stdin.on('end', () => child.kill('SIGTERM'));
process.stdin.resume();
child.once('exit', (code, signal) => {
  for (const s of servers) s.close();
  process.stderr.write(`pod-network-relay: ${spec.command} exited (${code ?? signal})\n`);
  process.exit(code ?? 1);
});
