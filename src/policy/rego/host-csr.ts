/**
 * crypto.x509.parse_certificate_request on the host: node:crypto has no
 * parser for PKCS #10 requests, so the subject is read with a small DER
 * walker. Returns the fields of Go's x509.CertificateRequest that policies
 * read (Raw, Version, Subject); the signature is not checked, as in Go's
 * ParseCertificateRequest.
 */

function fail(message: string): never {
  throw new Error(`eval_builtin_error: crypto.x509.parse_certificate_request: ${message}`);
}

interface Tlv {
  tag: number;
  start: number; // first content byte
  end: number; // one past the last content byte
}

function tlv(der: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit) fail('asn1: structure error: truncated');
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) fail('asn1: structure error: bad length');
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + der[start + k]!;
    start += n;
  }
  if (start + len > limit) fail('asn1: structure error: data truncated');
  return { tag, start, end: start + len };
}

/** The children of a constructed value. */
function children(der: Buffer, v: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = v.start; at < v.end; ) {
    const c = tlv(der, at, v.end);
    out.push(c);
    at = c.end;
  }
  return out;
}

const OIDS: Record<string, string> = {
  '2.5.4.3': 'CommonName', '2.5.4.6': 'Country', '2.5.4.10': 'Organization', '2.5.4.11': 'OrganizationalUnit',
  '2.5.4.7': 'Locality', '2.5.4.8': 'Province', '2.5.4.9': 'StreetAddress', '2.5.4.17': 'PostalCode', '2.5.4.5': 'SerialNumber',
};

function oid(bytes: Buffer): string {
  const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let v = 0;
  for (let i = 1; i < bytes.length; i++) {
    v = v * 128 + (bytes[i]! & 0x7f);
    if ((bytes[i]! & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

function name(der: Buffer, seq: Tlv): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Country: null, Organization: null, OrganizationalUnit: null, Locality: null, Province: null,
    StreetAddress: null, PostalCode: null, SerialNumber: '', CommonName: '',
  };
  for (const set of children(der, seq)) {
    for (const attr of children(der, set)) {
      const [type, value] = children(der, attr);
      if (!type || !value) fail('asn1: structure error: bad attribute');
      const field = OIDS[oid(der.subarray(type.start, type.end))];
      if (!field) continue;
      const text = der.subarray(value.start, value.end).toString(value.tag === 0x1e ? 'utf16le' : 'utf8');
      if (field === 'CommonName' || field === 'SerialNumber') out[field] = text;
      else out[field] = [...((out[field] as string[] | null) ?? []), text];
    }
  }
  return out;
}

export function parseCertificateRequest(input: unknown): unknown {
  if (typeof input !== 'string') fail('operand 1 must be string');
  const der = requestDer(input);
  const outer = tlv(der, 0, der.length);
  if (outer.tag !== 0x30) fail('asn1: structure error: not a certificate request');
  const [info] = children(der, outer);
  if (!info || info.tag !== 0x30) fail('asn1: structure error: no request info');
  const [version, subject] = children(der, info);
  if (!version || version.tag !== 0x02 || !subject || subject.tag !== 0x30) fail('asn1: structure error: bad request info');
  return {
    Raw: der.subarray(0, outer.end).toString('base64'),
    Version: der[version.start] ?? 0,
    Subject: name(der, subject),
    DNSNames: null,
    EmailAddresses: null,
    IPAddresses: null,
    URIs: null,
  };
}

const PEM_REQUEST = /-----BEGIN CERTIFICATE REQUEST-----([\s\S]*?)-----END CERTIFICATE REQUEST-----/;

/** The request's DER: from PEM, from base64 of PEM, or from base64 of DER. */
function requestDer(input: string): Buffer {
  const fromPem = (m: RegExpExecArray): Buffer => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const direct = PEM_REQUEST.exec(input);
  if (direct) return fromPem(direct);
  if (!/^[A-Za-z0-9+/=\s]+$/.test(input)) fail('illegal base64 data');
  const bytes = Buffer.from(input, 'base64');
  const inner = PEM_REQUEST.exec(bytes.toString('latin1'));
  return inner ? fromPem(inner) : bytes;
}
