// Builtins through the whole compiler (parser, planner, emitter) and the
// unmodified OPA SDK: one small policy per group of builtins, plus
// time.now_ns from the host builtins.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { parseModule } from '../../../../src/policy/rego/parser/index.ts';
import { planModules } from '../../../../src/policy/rego/compile.ts';
import { emitWasm } from '../../../../src/policy/rego/emit/index.ts';
import { createHostBuiltins } from '../../../../src/policy/rego/host-builtins.ts';

async function evalRule(source: string, rule: string, input?: unknown, nowNs?: bigint): Promise<unknown> {
  const module = parseModule(`package t\n\n${source}`, 't.rego');
  const wasm = emitWasm(planModules([module], [`t/${rule}`]));
  const host = createHostBuiltins(() => 1700000000123456789n);
  const policy = await loadPolicy(wasm, undefined, host.builtins);
  policy.setData({});
  host.beginEvaluation(nowNs);
  const rs = policy.evaluate(input, `t/${rule}`) as Array<{ result: unknown }>;
  return rs[0]?.result;
}

describe('builtins through the compiler', () => {
  it('strings', async () => {
    const src = `r := [
      startswith(input.s, "Hel"), endswith(input.s, "!"), contains(input.s, "lo, "),
      lower(input.s), upper(input.s), split(input.s, ", "), concat("-", ["a", "b"]),
      trim(" xx ", " "), trim_left("..a", "."), trim_right("a..", "."), trim_prefix("abc", "a"),
      trim_suffix("abc", "c"), trim_space("  s  "), replace(input.s, "l", "L"), substring(input.s, 7, 5),
      indexof(input.s, "W"), format_int(255, 16), strings.replace_n({"H": "J"}, input.s),
      strings.reverse("abc"), strings.count(input.s, "l"), to_number("12.5"), sprintf("%s=%d", ["n", 3]),
    ]`;
    assert.deepEqual(await evalRule(src, 'r', { s: 'Hello, World!' }), [
      true, true, true, 'hello, world!', 'HELLO, WORLD!', ['Hello', 'World!'], 'a-b',
      'xx', 'a', 'a', 'bc', 'ab', 's', 'HeLLo, WorLd!', 'World', 7, 'ff', 'Jello, World!', 'cba', 3, 12.5, 'n=3',
    ]);
  });

  it('aggregates, arrays, objects and sets', async () => {
    const src = `r := [
      sum([1, 2, 3]), product([2, 3]), max([1, 5, 2]), min({4, 2}), sort([3, 1, 2]), count("åäö"),
      array.concat([1], [2]), array.slice([1, 2, 3], 1, 5), array.reverse([1, 2]),
      object.get(input, ["a", "b"], 0), object.keys({"x": 1}), object.remove({"a": 1, "b": 2}, ["a"]),
      object.union({"a": {"b": 1}}, {"a": {"c": 2}}), object.union_n([{"a": 1}, {"b": 2}]),
      object.filter({"a": 1, "b": 2}, {"b"}), {1, 2} & {2, 3}, {1} | {2}, {1, 2} - {1},
      intersection({{1, 2}, {2, 3}}), union({{1}, {2}}), numbers.range(1, 3),
      is_string("s"), is_number(1), is_boolean(true), is_array([]), is_object({}), is_set(set()), is_null(null),
      type_name({}),
    ]`;
    assert.deepEqual(await evalRule(src, 'r', { a: { b: 7 } }), [
      6, 6, 5, 2, [1, 2, 3], 3, [1, 2], [2, 3], [2, 1], 7, ['x'], { b: 2 }, { a: { b: 1, c: 2 } }, { a: 1, b: 2 },
      { b: 2 }, [2], [1, 2], [2], [2], [1, 2], [1, 2, 3], true, true, true, true, true, true, true, 'object',
    ]);
  });

  it('patterns, networks and encodings', async () => {
    const src = `r := [
      regex.match("^[a-z]+-\\\\d{2,}$", input.id), glob.match("api.*.example.com", ["."], input.host),
      net.cidr_contains("10.0.0.0/8", input.ip), net.cidr_contains("2001:db8::/32", "2001:db8::1"),
      base64.encode("hi"), base64.decode("aGk="), base64.is_valid("a"), base64url.encode("??>"),
      base64url.decode("Pz8-"), hex.encode("hi"), hex.decode("6869"), urlquery.encode("a b&c"),
      urlquery.decode("a+b%26c"), urlquery.encode_object({"q": ["1", "2"]}), urlquery.decode_object("q=1&q=2"),
      json.marshal({"a": [1]}), json.unmarshal("{\\"a\\":[1]}"), json.is_valid("{"),
      units.parse_bytes("1KiB"), units.parse("2k"),
    ]`;
    assert.deepEqual(await evalRule(src, 'r', { id: 'abc-123', host: 'api.v1.example.com', ip: '10.2.3.4' }), [
      true, true, true, true, 'aGk=', 'hi', false, 'Pz8-', '??>', '6869', 'hi', 'a+b%26c', 'a b&c', 'q=1&q=2',
      { q: ['1', '2'] }, '{"a":[1]}', { a: [1] }, false, 1024, 2000,
    ]);
  });

  it('time, with time.now_ns fixed per evaluation by the host', async () => {
    const src = `r := [
      time.now_ns(), time.now_ns() == time.now_ns(), time.parse_rfc3339_ns("2017-06-02T19:00:00-07:00"),
      time.date(1517814000000000000), time.clock([1517832000000000000, "America/New_York"]),
      time.weekday(1517832000000000000), time.add_date(0, 1, 1, 1), time.parse_duration_ns("1h30m"),
      time.parse_ns("2006-01-02", "2020-02-29"),
    ]`;
    const got = (await evalRule(src, 'r', undefined, 1700000000987654321n)) as unknown[];
    // The SDK parses results with JSON.parse: 19 digits arrive as the nearest double.
    assert.equal(got[0], Number(1700000000987654321n));
    assert.deepEqual(got.slice(1), [
      true, 1496455200000000000, [2018, 2, 5], [7, 0, 0], 'Monday', 34300800000000000, 5400000000000, 1582934400000000000,
    ]);
  });

  it('randomness from the host, stable within an evaluation', async () => {
    const src = 'r := [rand.intn("x", 10) == rand.intn("x", 10), count(uuid.rfc4122("a")), uuid.rfc4122("a") == uuid.rfc4122("a")]';
    assert.deepEqual(await evalRule(src, 'r'), [true, 36, true]);
  });

  it('raises builtin errors as evaluation errors (fail closed)', async () => {
    await assert.rejects(evalRule('r := regex.match("(", input.s)', 'r', { s: 'x' }), /missing closing \)/);
    await assert.rejects(evalRule('r := startswith(input.n, "a")', 'r', { n: 1 }), /operand 1 must be string but got number/);
    await assert.rejects(evalRule('r := net.cidr_contains("nope", "1.2.3.4")', 'r'), /invalid CIDR address/);
  });
});
