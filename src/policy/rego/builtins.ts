/**
 * The builtins a compiled policy can call: Rego name → how it is reached.
 * `export` names the runtime's wasm export (`builtin_<name with . as _>`,
 * see src/policy/rego/runtime/README.md); `'sdk'` means the OPA SDK
 * implements it in JavaScript and the policy calls it through the
 * `opa_builtinN` imports. A name missing here is a compile error.
 */
export interface BuiltinEntry {
  export: string;
  arity: number;
}

export const SDK_BUILTIN = 'sdk';

export const BUILTINS: Record<string, BuiltinEntry> = {
  // Core operators, implemented in runtime/ops.ts.
  equal: { export: 'builtin_equal', arity: 2 },
  neq: { export: 'builtin_neq', arity: 2 },
  lt: { export: 'builtin_lt', arity: 2 },
  gt: { export: 'builtin_gt', arity: 2 },
  lte: { export: 'builtin_lte', arity: 2 },
  gte: { export: 'builtin_gte', arity: 2 },
  plus: { export: 'builtin_plus', arity: 2 },
  minus: { export: 'builtin_minus', arity: 2 },
  mul: { export: 'builtin_mul', arity: 2 },
  div: { export: 'builtin_div', arity: 2 },
  rem: { export: 'builtin_rem', arity: 2 },
  abs: { export: 'builtin_abs', arity: 1 },
  round: { export: 'builtin_round', arity: 1 },
  ceil: { export: 'builtin_ceil', arity: 1 },
  floor: { export: 'builtin_floor', arity: 1 },
  count: { export: 'builtin_count', arity: 1 },
  'internal.member_2': { export: 'builtin_internal_member_2', arity: 2 },
  'internal.member_3': { export: 'builtin_internal_member_3', arity: 3 },
  'object.get': { export: 'builtin_object_get', arity: 3 },
  and: { export: 'builtin_and', arity: 2 },
  or: { export: 'builtin_or', arity: 2 },
  // Implemented in runtime/builtins/.
  ...runtime([
    ['startswith', 2], ['endswith', 2], ['contains', 2], ['lower', 1], ['upper', 1],
    ['split', 2], ['strings.split_n', 3], ['concat', 2], ['trim', 2], ['trim_left', 2], ['trim_right', 2],
    ['trim_prefix', 2], ['trim_suffix', 2], ['trim_space', 1], ['replace', 3],
    ['substring', 3], ['indexof', 2], ['indexof_n', 2], ['strings.replace_n', 2],
    ['strings.reverse', 1], ['strings.count', 2], ['strings.any_prefix_match', 2],
    ['strings.any_suffix_match', 2], ['sprintf', 2],
    ['is_null', 1], ['is_boolean', 1], ['is_number', 1], ['is_string', 1], ['is_array', 1],
    ['is_object', 1], ['is_set', 1], ['type_name', 1],
    ['to_number', 1], ['format_int', 2], ['numbers.range', 2], ['numbers.range_step', 3],
    ['sum', 1], ['product', 1], ['max', 1], ['min', 1], ['sort', 1],
    ['array.concat', 2], ['array.slice', 3], ['array.reverse', 1], ['array.flatten', 1],
    ['object.keys', 1], ['object.remove', 2], ['object.filter', 2], ['object.union', 2],
    ['object.union_n', 1], ['object.subset', 2], ['intersection', 1], ['union', 1], ['trace', 1],
    ['base64.encode', 1], ['base64.decode', 1], ['base64.is_valid', 1],
    ['base64url.encode', 1], ['base64url.encode_no_pad', 1], ['base64url.decode', 1],
    ['hex.encode', 1], ['hex.decode', 1],
    ['urlquery.encode', 1], ['urlquery.decode', 1], ['urlquery.encode_object', 1], ['urlquery.decode_object', 1],
    ['json.marshal', 1], ['json.marshal_with_options', 2], ['json.unmarshal', 1], ['json.is_valid', 1],
    ['json.filter', 2], ['json.remove', 2], ['json.patch', 2], ['walk', 1], ['graph.reachable', 2], ['graph.reachable_paths', 2],
    ['units.parse', 1], ['units.parse_bytes', 1],
    ['regex.match', 2], ['regex.is_valid', 1], ['regex.find_n', 3], ['regex.find_all_string_submatch_n', 3],
    ['regex.replace', 3], ['regex.split', 2], ['regex.template_match', 4], ['regex.globs_match', 2], ['glob.match', 3], ['glob.quote_meta', 1],
    ['net.cidr_contains', 2], ['net.cidr_intersects', 2], ['net.cidr_is_valid', 1], ['net.cidr_expand', 1],
    ['net.cidr_contains_matches', 2], ['net.cidr_merge', 1],
    ['time.parse_rfc3339_ns', 1], ['time.parse_ns', 2], ['time.parse_duration_ns', 1], ['time.date', 1],
    ['time.clock', 1], ['time.weekday', 1], ['time.add_date', 4], ['time.diff', 2], ['time.format', 1],
    ['crypto.md5', 1], ['crypto.sha1', 1], ['crypto.sha256', 1], ['crypto.sha384', 1], ['crypto.sha512', 1],
    ['crypto.hmac.md5', 2], ['crypto.hmac.sha1', 2], ['crypto.hmac.sha256', 2], ['crypto.hmac.sha512', 2],
    ['crypto.hmac.equal', 2],
    ['bits.and', 2], ['bits.or', 2], ['bits.xor', 2], ['bits.negate', 1], ['bits.lsh', 2], ['bits.rsh', 2],
    ['semver.is_valid', 1], ['semver.compare', 2], ['uuid.parse', 1],
    ['io.jwt.decode', 1], ['io.jwt.verify_hs256', 2], ['io.jwt.verify_hs384', 2], ['io.jwt.verify_hs512', 2],
  ]),
  // Implemented by the OPA SDK in JavaScript.
  'yaml.is_valid': { export: SDK_BUILTIN, arity: 1 },
  'yaml.marshal': { export: SDK_BUILTIN, arity: 1 },
  'yaml.unmarshal': { export: SDK_BUILTIN, arity: 1 },
  // Provided by the host as an SDK custom builtin (see host-builtins.ts).
  'time.now_ns': { export: SDK_BUILTIN, arity: 0 },
  'rand.intn': { export: SDK_BUILTIN, arity: 2 },
  'uuid.rfc4122': { export: SDK_BUILTIN, arity: 1 },
  'io.jwt.decode_verify': { export: SDK_BUILTIN, arity: 2 },
  'io.jwt.encode_sign': { export: SDK_BUILTIN, arity: 3 },
  'io.jwt.encode_sign_raw': { export: SDK_BUILTIN, arity: 3 },
  'crypto.x509.parse_certificates': { export: SDK_BUILTIN, arity: 1 },
  'crypto.x509.parse_and_verify_certificates': { export: SDK_BUILTIN, arity: 1 },
  'crypto.x509.parse_rsa_private_key': { export: SDK_BUILTIN, arity: 1 },
  'crypto.parse_private_keys': { export: SDK_BUILTIN, arity: 1 },
  'crypto.x509.parse_keypair': { export: SDK_BUILTIN, arity: 2 },
  'crypto.x509.parse_certificate_request': { export: SDK_BUILTIN, arity: 1 },
  'providers.aws.sign_req': { export: SDK_BUILTIN, arity: 3 },
  'strings.render_template': { export: SDK_BUILTIN, arity: 2 },
  'json.match_schema': { export: SDK_BUILTIN, arity: 2 },
  'json.verify_schema': { export: SDK_BUILTIN, arity: 1 },
  'opa.runtime': { export: SDK_BUILTIN, arity: 0 },
  ...Object.fromEntries(
    ['rs256', 'rs384', 'rs512', 'ps256', 'ps384', 'ps512', 'es256', 'es384', 'es512', 'eddsa'].map((a) => [
      `io.jwt.verify_${a}`,
      { export: SDK_BUILTIN, arity: 2 },
    ]),
  ),
};

/** Entries for runtime builtins that follow the naming convention. */
function runtime(list: [name: string, arity: number][]): Record<string, BuiltinEntry> {
  const out: Record<string, BuiltinEntry> = {};
  for (const [name, arity] of list) out[name] = { export: `builtin_${name.replace(/\./g, '_')}`, arity };
  return out;
}

/**
 * OPA builtins Portcullis does not implement (they reach the network or
 * parse Rego), by arity. A policy may still replace them with `with` (tests
 * mock `http.send` so); a call that no `with` replaces is a compile error
 * naming the builtin, as any unsupported builtin.
 */
export const REPLACEABLE_ONLY: Readonly<Record<string, number>> = Object.freeze({
  'http.send': 1,
  'net.lookup_ip_addr': 1,
  'rego.parse_module': 2,
});
