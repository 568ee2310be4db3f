/**
 * The one mapping from Portcullis error codes to what an agent receives: an
 * HTTP status with a JSON body, or a JSON-RPC error for MCP.
 */
import { ErrorCodes, isPortcullisError, PortcullisError, type ErrorCode } from '../errors.ts';

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.DENIED]: 403,
  [ErrorCodes.ESCALATION_REJECTED]: 403,
  [ErrorCodes.ESCALATION_TIMEOUT]: 403,
  [ErrorCodes.REWRITE_NOT_ALLOWED]: 403,
  [ErrorCodes.DECISION_INVALID]: 403,
  [ErrorCodes.POLICY_EVAL]: 403,
  [ErrorCodes.POLICY_CONFLICT]: 403,
  [ErrorCodes.POLICY_TIMEOUT]: 403,
  [ErrorCodes.POLICY_NO_BUNDLE]: 503,
  [ErrorCodes.BAD_REQUEST]: 400,
  [ErrorCodes.BAD_PATH]: 400,
  [ErrorCodes.BAD_JSONRPC]: 400,
  [ErrorCodes.JSON_DUPLICATE_KEY]: 400,
  [ErrorCodes.BODY_TOO_LARGE]: 413,
  [ErrorCodes.UNKNOWN_ROUTE]: 404,
  [ErrorCodes.MCP_ROUTE_REFUSED]: 404,
  [ErrorCodes.MCP_HEADER_MISMATCH]: 400,
  [ErrorCodes.MCP_ORIGIN_REFUSED]: 403,
  [ErrorCodes.APPROVAL_PENDING]: 409,
  [ErrorCodes.MRTR_STATE_INVALID]: 400,
  [ErrorCodes.UPSTREAM]: 502,
  [ErrorCodes.CREDENTIAL]: 503,
  [ErrorCodes.UPSTREAM_TIMEOUT]: 504,
  [ErrorCodes.RESPONSE_TOO_LARGE]: 502,
  [ErrorCodes.REQUEST_TIMEOUT]: 408,
  [ErrorCodes.LEDGER_WRITE]: 503,
  [ErrorCodes.CONFIG]: 500,
  [ErrorCodes.INTERNAL]: 500,
  [ErrorCodes.APPROVAL_MISMATCH]: 409,
  [ErrorCodes.APPROVAL_UNATTESTED]: 403,
  [ErrorCodes.HEAD_REGRESSED]: 409,
  [ErrorCodes.OBJECT_STORE]: 503,
  [ErrorCodes.APPROVAL_NOT_FOUND]: 404,
  [ErrorCodes.UNAUTHENTICATED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
};

/**
 * JSON-RPC codes: the reserved range for what is malformed, and the
 * implementation-defined server range (-32000…-32099) for policy outcomes.
 */
const JSONRPC_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.BAD_REQUEST]: -32700,
  [ErrorCodes.JSON_DUPLICATE_KEY]: -32700,
  [ErrorCodes.BAD_JSONRPC]: -32600,
  // The code MCP 2026-07-28 gives a header that disagrees with the body.
  [ErrorCodes.MCP_HEADER_MISMATCH]: -32020,
  [ErrorCodes.DENIED]: -32001,
  [ErrorCodes.ESCALATION_REJECTED]: -32002,
  [ErrorCodes.ESCALATION_TIMEOUT]: -32003,
  [ErrorCodes.APPROVAL_PENDING]: -32007,
  [ErrorCodes.MRTR_STATE_INVALID]: -32008,
  [ErrorCodes.REWRITE_NOT_ALLOWED]: -32004,
  [ErrorCodes.POLICY_NO_BUNDLE]: -32005,
  [ErrorCodes.DECISION_INVALID]: -32006,
  [ErrorCodes.POLICY_EVAL]: -32006,
  [ErrorCodes.POLICY_CONFLICT]: -32006,
  [ErrorCodes.POLICY_TIMEOUT]: -32006,
  [ErrorCodes.UPSTREAM]: -32010,
  [ErrorCodes.UPSTREAM_TIMEOUT]: -32011,
  [ErrorCodes.RESPONSE_TOO_LARGE]: -32012,
  [ErrorCodes.LEDGER_WRITE]: -32013,
  [ErrorCodes.INTERNAL]: -32603,
};

export function httpStatusFor(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 500;
}

export function jsonRpcCodeFor(code: ErrorCode): number {
  return JSONRPC_CODE[code] ?? -32000;
}

/** What the error says to the agent: code, reason, trace ID, decision ID. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; traceId?: string; decisionId?: string; approvalId?: string; approvalUrl?: string };
}

export interface ErrorRefs {
  traceId?: string;
  decisionId?: string;
}

/**
 * Any thrown value as a PortcullisError. What is not one already is named by
 * `fallback`: UPSTREAM where the caller knows the failure came from the
 * upstream (a response cut off while relayed), otherwise INTERNAL, a bug.
 */
export function toPortcullisError(e: unknown, fallback: typeof ErrorCodes.INTERNAL | typeof ErrorCodes.UPSTREAM = ErrorCodes.INTERNAL): PortcullisError {
  if (isPortcullisError(e)) return e;
  const message = (e as Error)?.message ?? String(e);
  return fallback === ErrorCodes.UPSTREAM
    ? new PortcullisError(ErrorCodes.UPSTREAM, `the upstream failed: ${message}`, undefined, { cause: e })
    : new PortcullisError(ErrorCodes.INTERNAL, `internal error: ${message}; this is a bug in Portcullis: please report it with the decision ID`, undefined, { cause: e });
}

/** The approval a refused call waited for, and where a person decides it, when the error names one (a held call that timed out). */
function approvalRefs(e: PortcullisError): { approvalId?: string; approvalUrl?: string } {
  const { approvalId, approvalUrl } = (e.details ?? {}) as { approvalId?: unknown; approvalUrl?: unknown };
  return { ...(typeof approvalId === 'string' ? { approvalId } : {}), ...(typeof approvalUrl === 'string' ? { approvalUrl } : {}) };
}

export function errorBody(e: PortcullisError, refs: ErrorRefs = {}): ErrorBody {
  const error: ErrorBody['error'] = { code: e.code, message: e.message, ...approvalRefs(e) };
  if (refs.traceId) error.traceId = refs.traceId;
  if (refs.decisionId) error.decisionId = refs.decisionId;
  return { error };
}

export interface JsonRpcErrorResponse {
  jsonrpc: '2.0';
  id: string | number | null;
  error: { code: number; message: string; data: { code: ErrorCode; traceId?: string; decisionId?: string; approvalId?: string; approvalUrl?: string } };
}

export function jsonRpcError(id: string | number | null | undefined, e: PortcullisError, refs: ErrorRefs = {}): JsonRpcErrorResponse {
  const data: JsonRpcErrorResponse['error']['data'] = { code: e.code, ...approvalRefs(e) };
  if (refs.traceId) data.traceId = refs.traceId;
  if (refs.decisionId) data.decisionId = refs.decisionId;
  return { jsonrpc: '2.0', id: id ?? null, error: { code: jsonRpcCodeFor(e.code), message: e.message, data } };
}
