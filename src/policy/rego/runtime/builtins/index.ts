// Builtins implemented in the runtime; see ../README.md for the convention
// and README.md here for the list. Files that also export helpers for other
// builtins are re-exported by name, so only builtins become wasm exports.
export * from './strings';
export * from './types';
export * from './numbers';
export {
  builtin_sum,
  builtin_product,
  builtin_max,
  builtin_min,
  builtin_sort,
} from './aggregates';
export * from './arrays';
export * from './objects';
export * from './sets';
export {
  builtin_base64_encode,
  builtin_base64_decode,
  builtin_base64_is_valid,
  builtin_base64url_encode,
  builtin_base64url_encode_no_pad,
  builtin_base64url_decode,
  builtin_hex_encode,
  builtin_hex_decode,
  builtin_urlquery_encode,
  builtin_urlquery_decode,
  builtin_urlquery_encode_object,
  builtin_urlquery_decode_object,
} from './encoding';
export * from './marshal';
export * from './units';
export {
  builtin_regex_match,
  builtin_regex_is_valid,
  builtin_regex_find_n,
  builtin_regex_find_all_string_submatch_n,
  builtin_regex_split,
  builtin_regex_replace,
  builtin_regex_template_match,
} from './regex';
export * from './glob';
export {
  builtin_net_cidr_contains,
  builtin_net_cidr_intersects,
  builtin_net_cidr_is_valid,
  builtin_net_cidr_expand,
  builtin_net_cidr_contains_matches,
} from './net';
export * from './time';
export * from './crypto';
export * from './bits';
export * from './semver';
export * from './jwt';
export * from './timeformat';
export * from './sprintf';
export {
  builtin_json_filter,
  builtin_json_remove,
} from './jsonpaths';
export * from './graph';
export * from './jsonpatch';
export * from './uuid';
export * from './cidrmerge';
export { builtin_regex_globs_match } from './regex-intersect';
