/**
 * Sends the ledger's head to the controller's witness (PUT /v1/ledger-heads)
 * with the pod's projected service account token, as the approvals client
 * does. A refusal keeps the controller's error code (HEAD_REGRESSED, FORBIDDEN,
 * UNAUTHENTICATED); an unreachable controller is UPSTREAM.
 */
import { Agent, request } from 'undici';
import { ErrorCodes, PortcullisError, type ErrorCode } from '../errors.ts';
import type { HeadWitness, WitnessedHead } from '../evidence/shipping/witnessed-head.ts';
import { bearerHeader } from './service-account-token.ts';

export interface HeadWitnessClientOptions {
  /** The controller's base URL. */
  controllerUrl: string;
  ca?: string;
  /** Projected service account token (audience portcullis.dev). */
  tokenFile?: string;
  timeoutMs?: number;
}

const KNOWN: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

export class HeadWitnessClient implements HeadWitness {
  readonly #o: HeadWitnessClientOptions;
  readonly #agent: Agent;

  constructor(o: HeadWitnessClientOptions) {
    this.#o = o;
    const timeout = o.timeoutMs ?? 10_000;
    this.#agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, ...(o.ca ? { connect: { ca: o.ca } } : {}) });
  }

  async send(head: WitnessedHead): Promise<void> {
    const headers = await this.#headers();
    const url = new URL('/v1/ledger-heads', this.#o.controllerUrl);
    const res = await request(url, { method: 'PUT', headers, body: JSON.stringify(head), dispatcher: this.#agent }).catch((e: unknown) => {
      throw new PortcullisError(ErrorCodes.UPSTREAM, `the ledger head witness at ${url.origin} is unreachable: ${(e as Error).message}`, undefined, { cause: e });
    });
    const text = await res.body.text().catch(() => '');
    if (res.statusCode === 200) return;
    throw refusal({ url, seq: head.seq, status: res.statusCode, text });
  }

  /** The request's headers, with the service account token when one is configured (read on every send: it is rotated). */
  async #headers(): Promise<Record<string, string>> {
    return { 'content-type': 'application/json', ...(await bearerHeader(this.#o.tokenFile)) };
  }


  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** Closes at once, failing a request still in flight (shutdown after its deadline). */
  async destroy(): Promise<void> {
    await this.#agent.destroy();
  }
}

/** What the witness answered other than 200, as the error send throws. */
function refusal(r: { url: URL; seq: number; status: number; text: string }): PortcullisError {
  if (r.status === 404 && !r.text.includes('PORTCULLIS_')) {
    // No such route: a controller that keeps no witness store. Not worth retrying.
    return new PortcullisError(
      ErrorCodes.HEAD_NOT_WITNESSED,
      `${r.url.origin} does not witness ledger heads (the controller has no PORTCULLIS_WITNESS_STORE): configure it, or set PORTCULLIS_WITNESS_URL=none`,
      { status: 404 },
    );
  }
  const { code, message } = errorBody(r.text);
  return new PortcullisError(code && KNOWN.has(code) ? (code as ErrorCode) : ErrorCodes.UPSTREAM, `the witness refused ledger head ${r.seq} (HTTP ${r.status}): ${message}`, {
    status: r.status,
  });
}

/** The controller's error code and message, from either body shape; a body that is not JSON is its own message. */
function errorBody(text: string): { code: string | undefined; message: string } {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string }; code?: string; message?: string };
    return { code: body.error?.code ?? body.code, message: body.error?.message ?? body.message ?? text.slice(0, 300) };
  } catch {
    // Not JSON: the status says enough.
    return { code: undefined, message: text.slice(0, 300) };
  }
}
