/**
 * The chart's optional Jaeger, run as its pod would run it: the container of
 * the rendered Deployment (args, env, ports, probes) with the real Jaeger
 * binary the other tests use (v1.75.0, built from Go modules, the same program
 * as the v2.12.0 image). Then what the cluster would do to it: the kubelet's
 * readiness and liveness probes, a span exported over OTLP/HTTP to the
 * Service's target port, and a search through the query API on the UI's.
 *
 * The chart's ports are fixed (4317, 4318, 16686, 13133), so the process gets
 * a network namespace of its own, as a pod does (pod-network.ts): nothing else
 * on the machine, nor another run of this test, can hold those ports there,
 * and it is reached at a pod address, so a listener bound to localhost alone
 * fails as it would in the cluster.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { lint, renderObjects } from './helm.ts';
import { startInPodNetwork, type HttpResponse, type PodNetworkProcess } from './pod-network.ts';
import { toolPath } from '../support/tools.ts';

interface ContainerPort { name?: string; containerPort: number }
interface Probe { httpGet?: { path?: string; port: number | string; scheme?: string } }
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
interface ServicePort { name: string; port: number; targetPort: number | string }

/** Jaeger's releases pair each v1 version with a v2 one: the binary reports the v1, the image is tagged with the v2. */
const V2_RELEASE_OF: Record<string, string> = { 'v1.75.0': '2.12.0' };

/**
 * The image's own ENV (cmd/jaeger/Dockerfile of the release). The container
 * runtime puts the container's env over it; the chart states the same
 * JAEGER_LISTEN_HOST itself, so the pod does not depend on this.
 */
const IMAGE_ENV: Record<string, string> = { JAEGER_LISTEN_HOST: '0.0.0.0' };

const objects = renderObjects({ jaeger: { enabled: true } });
const named = (kind: string): any => {
  const found = objects.filter((o) => o.kind === kind && String(o.metadata?.name).endsWith('-jaeger'));
  assert.equal(found.length, 1, `one ${kind} *-jaeger`);
  return found[0];
};
const container: Container = named('Deployment').spec.template.spec.containers.find((c: Container) => c.name === 'jaeger');
const servicePorts: ServicePort[] = named('Service').spec.ports;

/** A container port by number or by name, as a probe or a Service's targetPort names it. */
function containerPort(ref: number | string): number {
  if (typeof ref === 'number') return ref;
  const p = container.ports?.find((c) => c.name === ref);
  assert.ok(p, `the container declares a port named ${ref}`);
  return p.containerPort;
}

/** Where the Service sends traffic for its port `name`. */
function serviceTarget(name: string): number {
  const p = servicePorts.find((s) => s.name === name);
  assert.ok(p, `the Service has a port ${name}`);
  return containerPort(p.targetPort);
}

function probeOf(kind: 'readinessProbe' | 'livenessProbe'): { port: number; path: string } {
  const get = container[kind]?.httpGet;
  assert.ok(get, `${kind} is an httpGet`);
  assert.ok(get.scheme === undefined || get.scheme === 'HTTP', `${kind} is plain HTTP`);
  return { port: containerPort(get.port), path: get.path ?? '/' };
}

/** The container's env as the process sees it: literal values only, which is all this test can reproduce. */
function containerEnv(): Record<string, string> {
  const env: Record<string, string> = { ...IMAGE_ENV };
  for (const e of container.env ?? []) {
    assert.equal(e.valueFrom, undefined, `env ${e.name} comes from the cluster; the test cannot reproduce it`);
    env[e.name] = e.value ?? '';
  }
  return env;
}

test("the chart's Jaeger image is the v2 release of the Jaeger binary the tests run", () => {
  const r = spawnSync(toolPath('jaeger'), ['version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { gitVersion } = JSON.parse(r.stdout) as { gitVersion: string };
  const v2 = V2_RELEASE_OF[gitVersion];
  assert.ok(v2, `jaeger ${gitVersion}: add its v2 release (Jaeger's release notes) to V2_RELEASE_OF and move jaeger.image to it`);
  assert.equal(container.image, `jaegertracing/jaeger:${v2}`);
});

test("the container runs the image's entrypoint, and carries no Jaeger v1 setting", () => {
  assert.equal(container.command, undefined, "the image's entrypoint is the jaeger binary, which the tests below run in its place");
  // v1's switch for its OTLP receivers, which v2 ignores: its built-in configuration has them on.
  assert.equal(containerEnv().COLLECTOR_OTLP_ENABLED, undefined);
});

test('a Jaeger v1 image is refused by the schema: the chart configures and probes Jaeger v2', () => {
  const linted = lint({ jaeger: { enabled: true, image: 'jaegertracing/all-in-one:1.62.0' } });
  assert.notEqual(linted.status, 0);
  assert.match(linted.stdout, /at '\/jaeger\/image': .*pattern/);
  assert.equal(lint({ jaeger: { enabled: true, image: 'registry.example/mirror/jaegertracing/jaeger:2.12.0' } }).status, 0, 'a mirror of the v2 image is fine');
});

describe('the rendered Jaeger container, run as the pod runs it', () => {
  let jaeger: PodNetworkProcess;
  const service = 'portcullis-chart-test';

  /** Repeats `attempt` until it returns a value, failing at the deadline, or at once if Jaeger exits, with what it printed. */
  async function until<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
    const end = Date.now() + timeoutMs;
    let last = 'no attempt yet';
    for (;;) {
      const exit = jaeger.exit();
      if (exit !== undefined) assert.fail(`jaeger exited (${exit}) while waiting for ${what}; it printed:\n${jaeger.output()}`);
      try {
        const v = await attempt();
        if (v !== undefined) return v;
        last = 'not yet';
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > end) assert.fail(`${what}: not within ${timeoutMs} ms (last: ${last}); jaeger printed:\n${jaeger.output().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const ok = (r: HttpResponse): HttpResponse | undefined => (r.status === 200 ? r : undefined);

  before(() => {
    jaeger = startInPodNetwork({
      command: toolPath('jaeger'),
      args: container.args ?? [],
      env: containerEnv(),
      // A probe may name a port the container does not declare: the kubelet probes it all the same.
      ports: [...new Set([...(container.ports ?? []).map((p) => p.containerPort), probeOf('readinessProbe').port, probeOf('livenessProbe').port])],
    });
  });
  after(async () => {
    await jaeger?.close();
  });

  test('the readiness probe answers 200 once Jaeger has started, and then the liveness probe', async () => {
    const readiness = probeOf('readinessProbe');
    await until(`readiness ${readiness.path} on ${readiness.port}`, 60_000, async () => ok(await jaeger.http(readiness.port, { path: readiness.path })));
    const liveness = probeOf('livenessProbe');
    const live = await jaeger.http(liveness.port, { path: liveness.path });
    assert.equal(live.status, 200, live.body);
  });

  test('every container port is listened on at every address of the pod, not at localhost only', () => {
    const listeners = jaeger.listeners();
    for (const p of container.ports ?? []) {
      assert.ok(
        listeners.some((l) => l.port === p.containerPort && (l.address === '0.0.0.0' || l.address === '::')),
        `${p.name} (${p.containerPort}); listening: ${listeners.map((l) => `${l.address}:${l.port}`).join(' ')}`,
      );
    }
  });

  test("a span exported over OTLP/HTTP to the Service's port is found through the query API on the UI's", async () => {
    const id = randomBytes(16);
    id[0]! |= 0x10; // Jaeger's API prints a trace ID without its leading zeros.
    const traceId = id.toString('hex');
    const now = BigInt(Date.now()) * 1_000_000n;
    const attr = (key: string, value: string): object => ({ key, value: { stringValue: value } });
    const body = JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [attr('service.name', service)] },
        scopeSpans: [{
          scope: { name: 'chart-jaeger.test' },
          spans: [{
            traceId,
            spanId: randomBytes(8).toString('hex'),
            name: 'execute_tool delete_file',
            kind: 1,
            startTimeUnixNano: String(now - 5_000_000n),
            endTimeUnixNano: String(now),
            attributes: [attr('portcullis.effect', 'deny')],
          }],
        }],
      }],
    });
    const exported = await jaeger.http(serviceTarget('otlp-http'), { method: 'POST', path: '/v1/traces', headers: { 'content-type': 'application/json' }, body });
    assert.equal(exported.status, 200, exported.body);
    assert.doesNotMatch(exported.body, /rejectedSpans/, 'no span rejected');

    const params = new URLSearchParams({ service, tags: JSON.stringify({ 'portcullis.effect': 'deny' }), limit: '10' });
    const found = await until(`trace ${traceId} in a search for service ${service}`, 20_000, async () => {
      const r = await jaeger.http(serviceTarget('ui'), { path: `/api/traces?${params}` });
      assert.equal(r.status, 200, r.body);
      const traces = (JSON.parse(r.body) as { data: { traceID: string; spans: { operationName: string; processID: string }[]; processes: Record<string, { serviceName: string }> }[] | null }).data ?? [];
      return traces.find((t) => t.traceID === traceId);
    });
    assert.equal(found.spans.length, 1);
    assert.equal(found.spans[0]!.operationName, 'execute_tool delete_file');
    assert.equal(found.processes[found.spans[0]!.processID]?.serviceName, service);
  });

  test("the Service's OTLP/gRPC port takes an export (an empty ExportTraceServiceRequest)", async () => {
    const session = jaeger.http2(serviceTarget('otlp-grpc'));
    try {
      const { status, grpcStatus } = await new Promise<{ status: number; grpcStatus: string | undefined }>((resolve, reject) => {
        session.on('error', reject);
        const call = session.request({
          ':method': 'POST',
          ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        let status = 0;
        let grpcStatus: string | undefined;
        // A trailers-only answer (an error) carries grpc-status in the headers.
        call.on('response', (h) => ((status = Number(h[':status'])), (grpcStatus = h['grpc-status'] as string | undefined)));
        call.on('trailers', (h) => (grpcStatus = h['grpc-status'] as string | undefined));
        call.on('data', () => {});
        call.on('end', () => resolve({ status, grpcStatus }));
        call.on('error', reject);
        // One gRPC message: not compressed, zero bytes long (a request with no spans).
        call.end(Buffer.alloc(5));
      });
      assert.equal(status, 200);
      assert.equal(grpcStatus, '0', 'gRPC OK');
    } finally {
      session.close();
    }
  });

  test('SIGTERM, as the kubelet sends it, stops Jaeger in order and at once', async () => {
    const started = Date.now();
    const exit = await jaeger.close();
    const took = Date.now() - started;
    assert.equal(exit, '0', jaeger.output().slice(-4000));
    // With the query service tracing itself, shutdown waits 10 s on an export to the receiver it has already stopped.
    assert.ok(took < 5000, `stopped in ${took} ms`);
  });
});
