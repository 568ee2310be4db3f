/**
 * The S3 verbs ledger shipping needs (PUT, HEAD, GET, DELETE, ListObjectsV2,
 * and bucket creation for a fresh store), SigV4-signed over undici, with
 * path-style addressing (`ENDPOINT/BUCKET/KEY`), which every S3-compatible
 * store accepts. Every failure is a PortcullisError OBJECT_STORE naming the
 * verb, the object and the store's own error code.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import { EMPTY_SHA256, encodeKeyPath, signRequest, uriEncode, type S3Credentials } from './sigv4.ts';

export interface S3ClientOptions {
  /** `http(s)://host:port` of the S3 API. */
  endpoint: string;
  region: string;
  credentials: S3Credentials;
  /** Per request, headers to end of body. Default 30 s. */
  timeoutMs?: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** Without quotes. */
  etag: string;
  /** `x-amz-meta-*` headers, names without the prefix. */
  metadata: Record<string, string>;
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
}

export interface PutBody {
  /** A buffer, or a function opening a fresh stream of exactly `size` bytes (called again on a retry). */
  data: Buffer | (() => Readable);
  size: number;
  /** Hex SHA-256 of the bytes: signed, so the store refuses a body that differs. */
  sha256: string;
  /** base64 MD5 of the bytes (`Content-MD5`): the store checks it too, and a plain PUT's ETag is this MD5. */
  md5: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

function xmlValues(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1]!);
  return out;
}

function xmlUnescape(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-fA-F]+));/g, (all, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' } as Record<string, string>)[name] ?? all;
  });
}

const unquote = (etag: string): string => etag.replace(/^"|"$/g, '').replace(/^W\//, '');

export class S3Client {
  readonly endpoint: string;
  readonly #options: S3ClientOptions;
  readonly #agent: Agent;

  constructor(options: S3ClientOptions) {
    this.#options = options;
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    const timeout = options.timeoutMs ?? 30_000;
    this.#agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, connections: 8 });
  }

  async #send(
    verb: string,
    bucket: string,
    key: string,
    opts: { query?: Record<string, string>; headers?: Record<string, string>; body?: Buffer | Readable; payloadSha256?: string } = {},
  ): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.endpoint + encodeKeyPath(bucket, key));
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const headers = signRequest({ method: verb, url, headers: opts.headers ?? {}, payloadSha256: opts.payloadSha256 ?? EMPTY_SHA256 }, this.#options.credentials, this.#options.region);
    delete headers.host;
    // The query is sent exactly as it was signed (URLSearchParams would write spaces as '+').
    const sent = url.origin + url.pathname + (url.search ? '?' + [...url.searchParams].map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&') : '');
    try {
      return await request(sent, { method: verb as Dispatcher.HttpMethod, headers, body: opts.body ?? null, dispatcher: this.#agent });
    } catch (e) {
      throw new PortcullisError(
        ErrorCodes.OBJECT_STORE,
        `${verb} s3://${bucket}/${key} failed: the object store at ${this.endpoint} is unreachable (${(e as Error).message})`,
        { verb, bucket, key, endpoint: this.endpoint },
        { cause: e },
      );
    }
  }

  async #fail(res: Dispatcher.ResponseData, verb: string, bucket: string, key: string): Promise<never> {
    const text = verb === 'HEAD' ? '' : await res.body.text().catch(() => '');
    const code = xmlValues(text, 'Code')[0] ?? `HTTP ${res.statusCode}`;
    const message = xmlValues(text, 'Message')[0];
    throw new PortcullisError(
      ErrorCodes.OBJECT_STORE,
      `${verb} s3://${bucket}/${key} was refused by ${this.endpoint}: ${code}${message ? ` (${xmlUnescape(message)})` : ''}`,
      { verb, bucket, key, status: res.statusCode, storeCode: code },
    );
  }

  /** Uploads an object; resolves with its ETag (unquoted) once the store answered 200. */
  async putObject(bucket: string, key: string, body: PutBody): Promise<string> {
    return (await this.#put(bucket, key, body, {}))!;
  }

  async #put(bucket: string, key: string, body: PutBody, extra: Record<string, string>): Promise<string | undefined> {
    const headers: Record<string, string> = {
      ...extra,
      'content-length': String(body.size),
      'content-md5': body.md5,
      'content-type': body.contentType ?? 'application/octet-stream',
    };
    for (const [k, v] of Object.entries(body.metadata ?? {})) headers[`x-amz-meta-${k}`] = v;
    const data = typeof body.data === 'function' ? body.data() : body.data;
    const res = await this.#send('PUT', bucket, key, { headers, body: data, payloadSha256: body.sha256 });
    if (res.statusCode === 412 && extra['if-none-match']) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode !== 200) return this.#fail(res, 'PUT', bucket, key);
    await res.body.dump();
    return unquote(String(res.headers.etag ?? ''));
  }

  /**
   * Uploads an object only if no object has that key (`If-None-Match: *`), so
   * that nothing already stored is ever overwritten; resolves with its ETag,
   * or undefined when the key is taken.
   */
  async putObjectIfAbsent(bucket: string, key: string, body: PutBody): Promise<string | undefined> {
    return this.#put(bucket, key, body, { 'if-none-match': '*' });
  }

  /** Size, ETag and metadata of an object; undefined when it does not exist. */
  async headObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const res = await this.#send('HEAD', bucket, key);
    await res.body.dump();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) return this.#fail(res, 'HEAD', bucket, key);
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (name.startsWith('x-amz-meta-') && value !== undefined) metadata[name.slice('x-amz-meta-'.length)] = String(value);
    }
    return { key, size: Number(res.headers['content-length'] ?? 0), etag: unquote(String(res.headers.etag ?? '')), metadata };
  }

  /** The object's bytes as a stream; undefined when it does not exist. */
  async getObject(bucket: string, key: string): Promise<Readable | undefined> {
    const res = await this.#send('GET', bucket, key);
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode !== 200) return this.#fail(res, 'GET', bucket, key);
    return res.body;
  }

  /** The whole object as a buffer (small objects: heads, witness records); undefined when absent. */
  async getSmallObject(bucket: string, key: string): Promise<Buffer | undefined> {
    const body = await this.getObject(bucket, key);
    if (!body) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks);
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const res = await this.#send('DELETE', bucket, key);
    if (res.statusCode !== 204 && res.statusCode !== 200 && res.statusCode !== 404) return this.#fail(res, 'DELETE', bucket, key);
    await res.body.dump();
  }

  /** Every object under `prefix`, following continuation tokens, in key order. */
  async *listObjects(bucket: string, prefix: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    for (;;) {
      const query: Record<string, string> = { 'list-type': '2', prefix, 'max-keys': '1000' };
      if (token) query['continuation-token'] = token;
      const res = await this.#send('GET', bucket, '', { query });
      if (res.statusCode !== 200) return this.#fail(res, 'LIST', bucket, prefix);
      const xml = await res.body.text();
      for (const item of xmlValues(xml, 'Contents')) {
        yield {
          key: xmlUnescape(xmlValues(item, 'Key')[0] ?? ''),
          size: Number(xmlValues(item, 'Size')[0] ?? 0),
          etag: unquote(xmlUnescape(xmlValues(item, 'ETag')[0] ?? '')),
        };
      }
      const truncated = xmlValues(xml, 'IsTruncated')[0] === 'true';
      token = xmlValues(xml, 'NextContinuationToken')[0];
      if (!truncated || !token) return;
      token = xmlUnescape(token);
    }
  }

  /** Creates a bucket; one that exists and is ours already is fine. */
  async createBucket(bucket: string): Promise<void> {
    const res = await this.#send('PUT', bucket, '');
    if (res.statusCode === 200) return void (await res.body.dump());
    const text = await res.body.text().catch(() => '');
    if (xmlValues(text, 'Code')[0] === 'BucketAlreadyOwnedByYou') return;
    throw new PortcullisError(ErrorCodes.OBJECT_STORE, `creating bucket ${bucket} at ${this.endpoint} failed: ${xmlValues(text, 'Code')[0] ?? `HTTP ${res.statusCode}`}`, { bucket, status: res.statusCode });
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** Closes at once, failing requests still in flight (shutdown after its deadline). */
  async destroy(): Promise<void> {
    await this.#agent.destroy();
  }
}

/** SHA-256 (hex) and MD5 (base64) of a buffer, as `PutBody` wants them. */
export function bodyDigests(data: Buffer): { sha256: string; md5: string; size: number } {
  return {
    sha256: createHash('sha256').update(data).digest('hex'),
    md5: createHash('md5').update(data).digest('base64'),
    size: data.byteLength,
  };
}
