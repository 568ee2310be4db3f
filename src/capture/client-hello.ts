/**
 * Reads the server name (SNI) from the first bytes of a TLS connection,
 * without terminating TLS (RFC 8446 §4.1.2, RFC 6066 §3). The ClientHello
 * may span several TLS records (large key shares do); it is reassembled from
 * them. Pure: bytes in, a verdict out.
 */

export type ClientHelloResult =
  /** More bytes are needed to read the whole ClientHello. */
  | { kind: 'incomplete' }
  /** Not a TLS handshake, or a malformed one. */
  | { kind: 'not-tls'; reason: string }
  /** A ClientHello; `serverName` is undefined when it carries no SNI host name. */
  | { kind: 'hello'; serverName: string | undefined };

/** A ClientHello larger than this is refused rather than buffered. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const RECORD_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXTENSION_SERVER_NAME = 0;
const NAME_TYPE_HOST = 0;
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

function notTls(reason: string): ClientHelloResult {
  return { kind: 'not-tls', reason };
}

/** Whether `hs` holds the whole handshake message its header announces. */
function handshakeComplete(hs: Buffer): boolean {
  return hs.length >= 4 && hs.length >= 4 + hs.readUIntBE(1, 3);
}

/**
 * The body of the TLS record at `at`: undefined while it has not all
 * arrived, or why it cannot carry a ClientHello.
 */
function recordBody(data: Buffer, at: number): Buffer | undefined | ClientHelloResult {
  if (at + 5 > data.length) return undefined;
  if (data[at] !== RECORD_HANDSHAKE) return notTls('a record that is not a handshake interrupts the ClientHello');
  if (data[at + 1] !== 3) return notTls('not a TLS record version');
  const len = data.readUInt16BE(at + 3);
  if (len === 0 || len > 16384) return notTls(`a handshake record of ${len} bytes`);
  if (at + 5 + len > data.length) return undefined;
  return data.subarray(at + 5, at + 5 + len);
}

/**
 * The handshake bytes of the leading TLS records: as many records as the
 * ClientHello they announce needs (fewer while more must arrive), or why
 * these bytes are not a TLS handshake.
 */
function handshakeBytes(data: Buffer): Buffer | ClientHelloResult {
  if (data.length > 0 && data[0] !== RECORD_HANDSHAKE) return notTls(`record type ${data[0]} is not a handshake`);
  let hs = Buffer.alloc(0);
  let at = 0;
  while (!handshakeComplete(hs)) {
    const body = recordBody(data, at);
    if (!Buffer.isBuffer(body)) return body ?? hs;
    hs = Buffer.concat([hs, body]);
    at += 5 + body.length;
  }
  return hs;
}

class Reader {
  at = 0;
  constructor(readonly b: Buffer) {}
  need(n: number): void {
    if (this.at + n > this.b.length) throw new Error('truncated ClientHello');
  }
  u8(): number {
    this.need(1);
    return this.b[this.at++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
}

/** The host name of a server_name extension's body, or undefined when it names none. */
function serverNameOf(ext: Buffer): string | undefined {
  const r = new Reader(ext);
  const list = new Reader(r.bytes(r.u16()));
  while (list.at < list.b.length) {
    const type = list.u8();
    const name = list.bytes(list.u16());
    if (type === NAME_TYPE_HOST) {
      const host = name.toString('latin1').toLowerCase().replace(/\.$/, '');
      if (!HOST_NAME.test(host)) throw new Error('the server name is not a DNS host name');
      return host;
    }
  }
  return undefined;
}

/**
 * The ClientHello message's body once all of it has arrived, `incomplete`
 * before, or why it is not one.
 */
function clientHelloBody(data: Buffer, hs: Buffer): Buffer | ClientHelloResult {
  if (data.length > MAX_CLIENT_HELLO_BYTES + 5 * 8) return notTls('no ClientHello within the size limit');
  if (hs.length < 4) return { kind: 'incomplete' };
  if (hs[0] !== HANDSHAKE_CLIENT_HELLO) return notTls(`handshake type ${hs[0]} is not a ClientHello`);
  const len = hs.readUIntBE(1, 3);
  if (len > MAX_CLIENT_HELLO_BYTES) return notTls(`a ${len}-byte ClientHello is too large`);
  if (hs.length < 4 + len) return { kind: 'incomplete' };
  return hs.subarray(4, 4 + len);
}

/** The host name a ClientHello's body names in its server_name extension; throws when malformed. */
function helloServerName(r: Reader): string | undefined {
  r.bytes(2 + 32); // legacy_version, random
  r.bytes(r.u8()); // legacy_session_id
  r.bytes(r.u16()); // cipher_suites
  r.bytes(r.u8()); // legacy_compression_methods
  if (r.at === r.b.length) return undefined;
  const exts = new Reader(r.bytes(r.u16()));
  let serverName: string | undefined;
  let seen = false;
  while (exts.at < exts.b.length) {
    const type = exts.u16();
    const body = exts.bytes(exts.u16());
    if (type !== EXTENSION_SERVER_NAME) continue;
    // Two server_name extensions could name two hosts: which one the server believes is not ours to guess.
    if (seen) throw new Error('two server_name extensions');
    seen = true;
    serverName = serverNameOf(body);
  }
  return serverName;
}

/** The SNI of a ClientHello at the start of `data`, once all of it has arrived. */
export function parseClientHello(data: Buffer): ClientHelloResult {
  const hs = handshakeBytes(data);
  if (!Buffer.isBuffer(hs)) return hs;
  const body = clientHelloBody(data, hs);
  if (!Buffer.isBuffer(body)) return body;
  try {
    return { kind: 'hello', serverName: helloServerName(new Reader(body)) };
  } catch (e) {
    return notTls((e as Error).message);
  }
}

/** A fatal TLS alert record (RFC 8446 §6): what a TLS client reports instead of a bare reset. */
export function tlsAlert(description: 'access_denied' | 'handshake_failure' | 'unrecognized_name'): Buffer {
  const code = { access_denied: 49, handshake_failure: 40, unrecognized_name: 112 }[description];
  return Buffer.from([21, 3, 3, 0, 2, 2, code]);
}
