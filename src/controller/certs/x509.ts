/**
 * A CA and a serving certificate for the admission webhooks, made at start
 * with node:crypto (ECDSA P-256, SHA-256). The API server trusts the CA
 * through the webhook configurations' `caBundle`, which the controller
 * patches to match.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { bits, bool, explicit, implicit, int, octets, oid, seq, set, time, uint, utf8 } from './der.ts';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

export interface CertificatePair {
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
}

export interface ServingCertificate extends CertificatePair {
  caPem: string;
}

function name(commonName: string): Buffer {
  return seq(set(seq(oid(OID.organization), utf8('portcullis'))), set(seq(oid(OID.commonName), utf8(commonName))));
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1). */
function keyId(publicKey: KeyObject): Buffer {
  // The last 65 bytes of a P-256 SPKI are the uncompressed point.
  return createHash('sha1').update(spki(publicKey).subarray(-65)).digest();
}

const ext = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** keyUsage bits, big-endian in the first byte: digitalSignature = 0x80, keyCertSign = 0x04, cRLSign = 0x02. */
const keyUsage = (byte: number): Buffer => Buffer.from([0x03, 0x02, 0x01, byte]);

function pem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function ipBytes(ip: string): Buffer | undefined {
  const v4 = ip.split('.');
  if (v4.length === 4 && v4.every((p) => /^\d+$/.test(p))) return Buffer.from(v4.map(Number));
  return undefined;
}

interface CertSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  issuerKeyId: Buffer;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}

function issue(s: CertSpec): Buffer {
  const alg = seq(oid(OID.ecdsaWithSha256));
  const tbs = seq(
    explicit(0, int(2)),
    uint(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    alg,
    name(s.issuer),
    seq(time(s.notBefore), time(s.notAfter)),
    name(s.subject),
    spki(s.publicKey),
    explicit(3, seq(...s.extensions, ext(OID.authorityKeyId, false, seq(implicit(0, s.issuerKeyId))))),
  );
  const signature = sign('sha256', tbs, s.signingKey);
  return seq(tbs, alg, bits(signature));
}

export interface ServingCertOptions {
  /** DNS names of the serving certificate (service.namespace.svc and friends). */
  dnsNames: string[];
  ipAddresses?: string[];
  validDays?: number;
  /** Validity in seconds; overrides validDays (short lifetimes test renewal). */
  validSeconds?: number;
  now?: Date;
}

/** A CA: certificate and private key, PEM. */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

const validity = (o: { validDays?: number; validSeconds?: number; now?: Date }, factor = 1): { notBefore: Date; notAfter: Date } => {
  const now = o.now ?? new Date();
  const seconds = (o.validSeconds ?? (o.validDays ?? 365) * 86_400) * factor;
  // Back-dated a little for clocks that lag (five minutes, or a tenth of a short lifetime).
  const skew = Math.min(5 * 60_000, (seconds * 1000) / 10);
  return { notBefore: new Date(now.getTime() - skew), notAfter: new Date(now.getTime() + seconds * 1000) };
};

/** A fresh self-signed CA, valid for `validSeconds` (or `validDays`). */
export function generateCertificateAuthority(o: { validDays?: number; validSeconds?: number; now?: Date } = {}): CertificateAuthority {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caId = keyId(ca.publicKey);
  const caDer = issue({
    subject: 'portcullis-webhook-ca',
    issuer: 'portcullis-webhook-ca',
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    issuerKeyId: caId,
    ...validity(o),
    extensions: [
      ext(OID.basicConstraints, true, seq(bool(true), int(0))),
      ext(OID.keyUsage, true, keyUsage(0x86)),
      ext(OID.subjectKeyId, false, octets(caId)),
    ],
  });
  return { certPem: pem(caDer, 'CERTIFICATE'), keyPem: ca.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** A serving certificate signed by `ca`. */
export function issueServingCertificate(ca: CertificateAuthority, o: ServingCertOptions): CertificatePair {
  const caKey = createPrivateKey(ca.keyPem);
  const caId = keyId(createPublicKey(caKey));
  const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sans = [
    ...o.dnsNames.map((d) => implicit(2, Buffer.from(d, 'ascii'))),
    ...(o.ipAddresses ?? []).flatMap((ip) => {
      const b = ipBytes(ip);
      return b ? [implicit(7, b)] : [];
    }),
  ];
  const leafDer = issue({
    subject: o.dnsNames[0] ?? 'portcullis-webhook',
    issuer: 'portcullis-webhook-ca',
    publicKey: leaf.publicKey,
    signingKey: caKey,
    issuerKeyId: caId,
    ...validity(o),
    extensions: [
      ext(OID.basicConstraints, true, seq()),
      ext(OID.keyUsage, true, keyUsage(0x80)),
      ext(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
      ext(OID.subjectAltName, false, seq(...sans)),
      ext(OID.subjectKeyId, false, octets(keyId(leaf.publicKey))),
    ],
  });
  const certPem = pem(leafDer, 'CERTIFICATE');
  return { certPem, keyPem: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert: new X509Certificate(certPem) };
}

/** A fresh CA and a serving certificate it signed, both valid for the same time. */
export function generateServingCertificate(o: ServingCertOptions): ServingCertificate {
  const ca = generateCertificateAuthority(o);
  return { caPem: ca.certPem, ...issueServingCertificate(ca, o) };
}

/** The DNS names a Service answers to inside the cluster. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
}
