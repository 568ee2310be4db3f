import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFamily, captureRuleSet, renderNftScript, type CaptureRuleInput } from '../../src/capture/nft-rules.ts';
import { captureListeners, nameserversOf, ruleInputFor } from '../../src/capture/rule-input.ts';
import { readCaptureConfig } from '../../src/config/capture.ts';
import { ErrorCodes, PortcullisError } from '../../src/errors.ts';

const input: CaptureRuleInput = {
  sidecarUid: 65532,
  httpPorts: [80, 8080],
  httpListenPort: 15001,
  httpProbePort: 25001,
  tlsPorts: [{ port: 443, listenPort: 15002, probePort: 25002 }],
  dnsResolvers: ['10.96.0.10', 'fd00::a'],
  exclusions: ['10.96.0.1/32', 'fd00::1'],
};

const rulesOf = (chain: string): string[] => captureRuleSet(input).chains.find((c) => c.name === chain)!.rules;

test('the sidecar UID is exempt in both chains, after its probe redirects and before anything else', () => {
  const nat = rulesOf('capture');
  const firstPass = nat.indexOf('meta skuid 65532 return');
  assert.ok(firstPass > 0);
  assert.ok(nat.slice(0, firstPass).every((r) => r.startsWith('meta skuid 65532 ') && /daddr (127\.0\.0\.1|::1) tcp dport 2500[12] redirect/.test(r)));
  assert.ok(rulesOf('egress').includes('meta skuid 65532 accept'));
});

test('HTTP ports go to the HTTP listener, each TLS port to its own listener; loopback and exclusions are left alone', () => {
  const nat = rulesOf('capture');
  assert.ok(nat.includes('tcp dport { 80, 8080 } redirect to :15001'));
  assert.ok(nat.includes('tcp dport 443 redirect to :15002'));
  const lo = nat.indexOf('oifname "lo" return');
  assert.ok(lo >= 0 && lo < nat.indexOf('tcp dport 443 redirect to :15002'));
  assert.ok(nat.includes('ip daddr 10.96.0.1/32 return') && nat.includes('ip6 daddr fd00::1 return'));
});

test('the filter refuses other TCP, lets DNS reach the resolvers only (IPv4 and IPv6), and drops the rest', () => {
  const f = rulesOf('egress');
  assert.equal(f[0], 'ct state established,related accept');
  assert.deepEqual(f.slice(-2), ['meta l4proto tcp counter reject with tcp reset', 'counter drop']);
  for (const r of ['ip daddr 10.96.0.10 udp dport 53 accept', 'ip6 daddr fd00::a udp dport 53 accept', 'ct status dnat accept', 'oifname "lo" accept']) assert.ok(f.includes(r), r);
  assert.ok(!f.some((r) => /udp/.test(r) && !/daddr (10\.96\.0\.10|fd00::a) udp dport 53/.test(r)), 'no other UDP accepted');
});

test('the script replaces the table in one transaction', () => {
  const script = renderNftScript(captureRuleSet(input));
  assert.match(script, /^table inet portcullis\ndelete table inet portcullis\ntable inet portcullis \{\n/);
  assert.match(script, /chain capture \{\n {4}type nat hook output priority -100; policy accept;/);
  assert.match(script, /chain egress \{\n {4}type filter hook output priority 0; policy accept;/);
});

test('an invalid input is refused, never rendered', () => {
  assert.throws(() => captureRuleSet({ ...input, exclusions: ['10.0.0.0/33'] }), /not an IPv4 or IPv6/);
  assert.throws(() => captureRuleSet({ ...input, exclusions: ['example.com'] }), /not an IPv4 or IPv6/);
  assert.throws(() => captureRuleSet({ ...input, httpPorts: [443] }), /both HTTP and TLS/);
  assert.throws(() => captureRuleSet({ ...input, httpProbePort: 15002 }), /must all differ/);
  assert.throws(() => captureRuleSet({ ...input, httpPorts: [0] }), /not a port/);
  assert.equal(addressFamily('::ffff:10.0.0.1'), 'ip6');
  assert.equal(addressFamily('192.168.0.0/16'), 'ip');
});

test('settings map to listeners and rules; resolv.conf supplies the resolvers when none are set', () => {
  const config = readCaptureConfig({ PORTCULLIS_CAPTURE: 'true', PORTCULLIS_CAPTURE_TLS_PORTS: '443,8443', PORTCULLIS_CAPTURE_HTTP_PORTS: '80,8080' });
  assert.equal(config.enabled, true);
  assert.deepEqual(captureListeners(config), {
    http: { listenPort: 15001, probePort: 25001 },
    tls: [
      { port: 443, listenPort: 15002, probePort: 25002 },
      { port: 8443, listenPort: 15003, probePort: 25003 },
    ],
  });
  assert.deepEqual(nameserversOf('search svc.cluster.local\nnameserver 10.96.0.10\n nameserver fe80::1%eth0\noptions ndots:5\n'), ['10.96.0.10', 'fe80::1']);
  assert.deepEqual(ruleInputFor(config, ['10.96.0.10']).dnsResolvers, ['10.96.0.10']);
  assert.deepEqual(ruleInputFor({ ...config, dnsResolvers: ['10.0.0.2'] }, ['10.96.0.10']).dnsResolvers, ['10.0.0.2']);
});

test('invalid capture settings stop start-up naming the setting', () => {
  const bad = (env: Record<string, string>, setting: string): void => {
    assert.throws(() => readCaptureConfig(env), (e: unknown) => e instanceof PortcullisError && e.code === ErrorCodes.CONFIG && e.details?.setting === setting);
  };
  bad({ PORTCULLIS_CAPTURE: 'yes' }, 'PORTCULLIS_CAPTURE');
  bad({ PORTCULLIS_CAPTURE_EXCLUDE: 'kubernetes.default' }, 'PORTCULLIS_CAPTURE_EXCLUDE');
  bad({ PORTCULLIS_CAPTURE_TLS_PORTS: '80' }, 'PORTCULLIS_CAPTURE_TLS_PORTS');
  bad({ PORTCULLIS_CAPTURE_LISTEN_PORT: '60000' }, 'PORTCULLIS_CAPTURE_PROBE_OFFSET');
  bad({ PORTCULLIS_CAPTURE_HTTP_PORTS: '70000' }, 'PORTCULLIS_CAPTURE_HTTP_PORTS');
});
