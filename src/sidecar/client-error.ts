/**
 * Requests Node's HTTP parser refuses before any route sees them (ambiguous
 * framing, a malformed request line, a slow client): each is answered with a
 * clear error and recorded as a refused call, with as much of the request as
 * its raw bytes show, so the ledger says what was refused and why.
 */
import type { Duplex } from 'node:stream';
import type { ServerResponse } from 'node:http';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { errorBody, httpStatusFor } from '../gate/error-response.ts';
import type { Action } from '../gate/types.ts';
import type { Decider } from './decider.ts';

/** What each parser error means to the agent, by llhttp's code. */
const PARSER_REASONS: Readonly<Record<string, string>> = {
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length and Transfer-Encoding together are ambiguous framing; send one',
  HPE_INVALID_TRANSFER_ENCODING: 'the Transfer-Encoding is not one the proxy reads unambiguously; send chunked or a Content-Length',
  HPE_INVALID_CONTENT_LENGTH: 'the Content-Length is not a single valid number',
  HPE_INVALID_URL: 'the request target has characters a URL may not hold (non-ASCII, spaces, controls); percent-encode them',
  HPE_INVALID_METHOD: 'the request does not start with an HTTP method',
  HPE_INVALID_HEADER_TOKEN: 'a header name or value holds characters HTTP forbids',
  HPE_INVALID_VERSION: 'the HTTP version is not one the proxy speaks',
  HPE_CLOSED_CONNECTION: 'bytes arrived after a request that closes the connection (a body without Content-Length?)',
  HPE_HEADER_OVERFLOW: 'the request headers are too large',
};

export function classifyClientError(err: NodeJS.ErrnoException): { code: PortcullisError['code']; message: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { code: ErrorCodes.REQUEST_TIMEOUT, message: 'the request was not received in time; send it whole, promptly' };
  const why = PARSER_REASONS[err.code ?? ''] ?? 'it is not well-formed HTTP/1.1';
  return { code: ErrorCodes.BAD_REQUEST, message: `the request could not be parsed (${err.code ?? 'parse error'}): ${why}` };
}

/**
 * The refused call as far as its raw bytes show it: the method and target of
 * its request line (bounded, as sent), nothing parsed further, since the
 * parser just said the bytes cannot be trusted.
 */
export function refusedRequestStub(rawPacket: Buffer | undefined): Action {
  const line = rawPacket ? rawPacket.subarray(0, 4096).toString('latin1').split('\r\n', 1)[0]! : '';
  // The target as sent, spaces included: everything between the method and the version.
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}) (.*?)(?: HTTP\/\d\.\d)?$/.exec(line);
  return {
    type: 'http',
    tool: '',
    http: { method: m?.[1] ?? '', scheme: 'http', host: '', port: 0, path: '', rawPath: (m?.[2] ?? '').slice(0, 2048), query: {}, headers: {} },
  };
}

function responseText(code: PortcullisError['code'], message: string): string {
  const status = httpStatusFor(code);
  const body = JSON.stringify(errorBody(new PortcullisError(code, message)));
  return `HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** The server's `clientError` handler: records the refusal, then answers it and closes the connection. */
export function clientErrorHandler(decider: Decider): (error: NodeJS.ErrnoException, socket: Duplex) => void {
  return (error, socket) => {
    const err = error as NodeJS.ErrnoException & { rawPacket?: Buffer };
    // An agent that hangs up is not a request: nothing to answer or record.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { code, message } = classifyClientError(err);
    // Destroyed once the answer is flushed: the connection's framing cannot be trusted any more.
    const answer = (): void => void socket.end(responseText(code, message), () => socket.destroy());
    // Bytes past a request's end (a body sent without Content-Length, say)
    // fail to parse while that request is still being decided: its answer
    // goes first, or the agent would read this 400 as the answer to a call
    // that may run. (`_httpMessage` is the response Node has in progress.)
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    const afterInFlight = (): void => {
      if (inFlight && !inFlight.writableFinished) {
        inFlight.once('finish', answer);
        inFlight.once('close', () => socket.destroy());
      } else {
        answer();
      }
    };
    // Recorded before it is answered, like every other refusal.
    decider
      .refuse(refusedRequestStub(err.rawPacket), new PortcullisError(code, message, { parser: err.code }), { headers: {} })
      .catch(() => undefined)
      .finally(afterInFlight);
  };
}
