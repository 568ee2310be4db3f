/**
 * X.509 and private-key builtins, run by the host with node:crypto:
 * crypto.x509.parse_certificates, crypto.x509.parse_and_verify_certificates,
 * crypto.x509.parse_rsa_private_key and crypto.parse_private_keys.
 *
 * Certificates are returned with the fields of Go's x509.Certificate that
 * policies read (Subject and Issuer names, DNSNames, EmailAddresses,
 * IPAddresses, URIs, NotBefore, NotAfter, SerialNumber, IsCA, Raw), empty
 * lists as null, as OPA shows them. Input is PEM, base64 of PEM, or base64
 * of DER (one certificate or a concatenated chain).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';

function fail(builtin: string, message: string): never {
  throw new Error(`eval_builtin_error: ${builtin}: ${message}`);
}

/** DER certificates from PEM text, base64 PEM, or base64 DER (possibly a chain). */
function derCertificates(builtin: string, input: unknown): Buffer[] {
  if (typeof input !== 'string') fail(builtin, 'operand 1 must be string');
  let text = input;
  if (!text.includes('-----BEGIN')) {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) fail(builtin, 'illegal base64 data');
    const bytes = Buffer.from(text, 'base64');
    const decoded = bytes.toString('latin1');
    if (!decoded.includes('-----BEGIN')) return splitDer(builtin, bytes);
    text = decoded;
  }
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) fail(builtin, 'no PEM certificate found');
  return blocks.map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/** Splits concatenated DER SEQUENCEs. */
function splitDer(builtin: string, bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] !== 0x30 || i + 2 > bytes.length) fail(builtin, 'asn1: structure error: not a certificate');
    let len = bytes[i + 1]!;
    let header = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || i + 2 + n > bytes.length) fail(builtin, 'asn1: structure error: bad length');
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + bytes[i + 2 + k]!;
      header = 2 + n;
    }
    if (i + header + len > bytes.length) fail(builtin, 'asn1: structure error: truncated certificate');
    out.push(bytes.subarray(i, i + header + len));
    i += header + len;
  }
  return out;
}

const NAME_FIELDS: Record<string, string> = {
  C: 'Country', O: 'Organization', OU: 'OrganizationalUnit', L: 'Locality', ST: 'Province',
  street: 'StreetAddress', postalCode: 'PostalCode',
};

/** A distinguished name ("CN=x\nO=y") as Go's pkix.Name fields. */
function pkixName(dn: string): Record<string, unknown> {
  const name: Record<string, unknown> = {
    Country: null, Organization: null, OrganizationalUnit: null, Locality: null, Province: null,
    StreetAddress: null, PostalCode: null, SerialNumber: '', CommonName: '',
  };
  for (const line of dn.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'CN') name.CommonName = value;
    else if (key === 'serialNumber') name.SerialNumber = value;
    else if (NAME_FIELDS[key]) name[NAME_FIELDS[key]!] = [...((name[NAME_FIELDS[key]!] as string[] | null) ?? []), value];
  }
  return name;
}

function altNames(cert: X509Certificate, prefix: string): string[] | null {
  const san = cert.subjectAltName;
  if (!san) return null;
  const out = san.split(', ').filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length));
  return out.length ? out : null;
}

/** A URI as Go's url.URL marshals it. */
function goURL(uri: string): Record<string, unknown> {
  let u: URL | undefined;
  try {
    u = new URL(uri);
  } catch {
    u = undefined;
  }
  return {
    Scheme: u ? u.protocol.replace(/:$/, '') : '', Opaque: '', User: null, Host: u?.host ?? '', Path: u ? decodeURIComponent(u.pathname) : uri,
    RawPath: '', OmitHost: false, ForceQuery: false, RawQuery: u?.search.replace(/^\?/, '') ?? '', Fragment: u?.hash.replace(/^#/, '') ?? '', RawFragment: '',
  };
}

function rfc3339(date: string): string {
  return new Date(date).toISOString().replace('.000Z', 'Z');
}

function describe(cert: X509Certificate): Record<string, unknown> {
  const serial = BigInt(`0x${cert.serialNumber}`);
  return {
    Raw: cert.raw.toString('base64'),
    Version: 3,
    SerialNumber: Number.isSafeInteger(Number(serial)) ? Number(serial) : serial.toString(),
    Subject: pkixName(cert.subject),
    Issuer: pkixName(cert.issuer),
    NotBefore: rfc3339(cert.validFrom),
    NotAfter: rfc3339(cert.validTo),
    IsCA: cert.ca,
    DNSNames: altNames(cert, 'DNS:'),
    EmailAddresses: altNames(cert, 'email:'),
    IPAddresses: altNames(cert, 'IP Address:'),
    URIs: altNames(cert, 'URI:')?.map(goURL) ?? null,
    URIStrings: altNames(cert, 'URI:'),
  };
}

function parse(builtin: string, input: unknown): X509Certificate[] {
  return derCertificates(builtin, input).map((der) => {
    try {
      return new X509Certificate(der);
    } catch (e) {
      return fail(builtin, `x509: malformed certificate: ${(e as Error).message}`);
    }
  });
}

export function parseCertificates(input: unknown): unknown {
  return parse('crypto.x509.parse_certificates', input).map(describe);
}

/**
 * [valid, chain]: as in OPA, the first certificate is the root (self-signed),
 * the last the leaf, those between intermediates; each must be signed by its
 * predecessor and valid at `nowMs`. The chain is returned leaf first.
 */
export function parseAndVerifyCertificates(input: unknown, nowMs: number): unknown {
  let certs: X509Certificate[];
  try {
    certs = parse('crypto.x509.parse_and_verify_certificates', input).reverse();
  } catch {
    return [false, []];
  }
  const within = (c: X509Certificate) => Date.parse(c.validFrom) <= nowMs && nowMs <= Date.parse(c.validTo);
  const valid =
    certs.length > 0 &&
    certs.every((c, i) => {
      const issuer = certs[i + 1] ?? c;
      return within(c) && c.checkIssued(issuer) && c.verify(issuer.publicKey) && (i === certs.length - 1 || issuer.ca);
    });
  return valid ? [true, certs.map(describe)] : [false, []];
}

function privateKeyJwk(builtin: string, pem: string): unknown {
  try {
    return createPrivateKey(pem).export({ format: 'jwk' });
  } catch (e) {
    return fail(builtin, `failed to parse a private key: ${(e as Error).message}`);
  }
}

function pemText(input: string): string {
  if (input.includes('-----BEGIN')) return input;
  if (!/^[A-Za-z0-9+/=\s]+$/.test(input)) return '';
  return Buffer.from(input, 'base64').toString('latin1');
}

export function parseRsaPrivateKey(input: unknown): unknown {
  const builtin = 'crypto.x509.parse_rsa_private_key';
  if (typeof input !== 'string') fail(builtin, 'operand 1 must be string');
  const text = pemText(input);
  if (!text.includes('-----BEGIN')) fail(builtin, 'illegal base64 data: not a PEM private key');
  return privateKeyJwk(builtin, text);
}

/** Every private key in the PEM text, as JWKs; null for an empty string. */
export function parsePrivateKeys(input: unknown): unknown {
  const builtin = 'crypto.parse_private_keys';
  if (typeof input !== 'string') fail(builtin, 'operand 1 must be string');
  if (input === '') return null;
  const text = pemText(input);
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/g)].map((m) => m[0]);
  return blocks.map((pem) => privateKeyJwk(builtin, pem));
}

/**
 * crypto.x509.parse_keypair(cert, key): a TLS key pair like Go's
 * tls.Certificate (Certificate: base64 DER chain), after checking that the
 * key belongs to the first certificate. Both may be PEM or base64 PEM.
 */
export function parseKeypair(cert: unknown, key: unknown): unknown {
  const builtin = 'crypto.x509.parse_keypair';
  if (typeof key !== 'string') fail(builtin, 'operand 2 must be string');
  const certs = parse(builtin, cert);
  const keyText = pemText(key);
  if (!keyText.includes('-----BEGIN')) fail(builtin, 'tls: failed to find any PEM data in key input');
  let privateKey;
  try {
    privateKey = createPrivateKey(keyText);
  } catch (e) {
    return fail(builtin, `tls: failed to parse private key: ${(e as Error).message}`);
  }
  if (!certs[0]!.checkPrivateKey(privateKey)) fail(builtin, 'tls: private key does not match public key');
  return {
    Certificate: certs.map((c) => c.raw.toString('base64')),
    PrivateKey: privateKey.export({ format: 'jwk' }),
    Leaf: null,
    OCSPStaple: null,
    SignedCertificateTimestamps: null,
    SupportedSignatureAlgorithms: null,
  };
}
