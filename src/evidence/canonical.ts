/**
 * RFC 8785 (JSON Canonicalization Scheme) serialisation: the one form in which
 * policy inputs and bundle data are hashed, so that the same value always
 * yields the same bytes whatever the key order it was built with.
 */
import canonicalize from 'canonicalize';

/** The canonical JSON text of `value`; throws for values JSON cannot hold (undefined, functions, lone surrogates). */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('canonicalJson: value has no JSON form (undefined or a function)');
  return text;
}
