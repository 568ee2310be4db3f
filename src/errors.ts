/**
 * The catalogue of Portcullis errors. Every error the product raises carries a
 * stable code from this list; tests assert codes, never message text. The
 * mapping of codes to HTTP status and JSON-RPC error codes lives in
 * `src/gate/error-response.ts`.
 */

export const ErrorCodes = {
  // Rego compiler
  REGO_PARSE: 'PORTCULLIS_REGO_PARSE',
  REGO_COMPILE: 'PORTCULLIS_REGO_COMPILE',
  REGO_UNSAFE_VAR: 'PORTCULLIS_REGO_UNSAFE_VAR',
  REGO_RECURSION: 'PORTCULLIS_REGO_RECURSION',
  REGO_UNSUPPORTED_BUILTIN: 'PORTCULLIS_REGO_UNSUPPORTED_BUILTIN',
  REGO_TYPE: 'PORTCULLIS_REGO_TYPE',
  // Policy engine and bundles
  POLICY_EVAL: 'PORTCULLIS_POLICY_EVAL',
  POLICY_CONFLICT: 'PORTCULLIS_POLICY_CONFLICT',
  POLICY_NO_BUNDLE: 'PORTCULLIS_POLICY_NO_BUNDLE',
  POLICY_TIMEOUT: 'PORTCULLIS_POLICY_TIMEOUT',
  BUNDLE_INVALID: 'PORTCULLIS_BUNDLE_INVALID',
  BUNDLE_DIGEST_MISMATCH: 'PORTCULLIS_BUNDLE_DIGEST_MISMATCH',
  BUNDLE_TESTS_FAILED: 'PORTCULLIS_BUNDLE_TESTS_FAILED',
  /** A bundle that is unsigned, signed by a key the sidecar does not trust, or changed after signing: it is not loaded. */
  BUNDLE_SIGNATURE: 'PORTCULLIS_BUNDLE_SIGNATURE',
  // Gate
  DECISION_INVALID: 'PORTCULLIS_DECISION_INVALID',
  DENIED: 'PORTCULLIS_DENIED',
  ESCALATION_REJECTED: 'PORTCULLIS_ESCALATION_REJECTED',
  ESCALATION_TIMEOUT: 'PORTCULLIS_ESCALATION_TIMEOUT',
  REWRITE_NOT_ALLOWED: 'PORTCULLIS_REWRITE_NOT_ALLOWED',
  // Data plane
  BAD_REQUEST: 'PORTCULLIS_BAD_REQUEST',
  BAD_JSONRPC: 'PORTCULLIS_BAD_JSONRPC',
  BODY_TOO_LARGE: 'PORTCULLIS_BODY_TOO_LARGE',
  UNKNOWN_ROUTE: 'PORTCULLIS_UNKNOWN_ROUTE',
  /** `/mcp/<server>` with a sub-path or query its catalog entry does not open. */
  MCP_ROUTE_REFUSED: 'PORTCULLIS_MCP_ROUTE_REFUSED',
  /** MCP `Mcp-Method` / `Mcp-Name` / `MCP-Protocol-Version` headers that disagree with the JSON-RPC body. */
  MCP_HEADER_MISMATCH: 'PORTCULLIS_MCP_HEADER_MISMATCH',
  /** An MCP request from a web page of another origin (DNS rebinding): the `Origin` header is not a loopback origin. */
  MCP_ORIGIN_REFUSED: 'PORTCULLIS_MCP_ORIGIN_REFUSED',
  /** An MCP 2026-07-28 call that waits for approval: the client is given the approval URL and retries (not an error it sees). */
  APPROVAL_PENDING: 'PORTCULLIS_APPROVAL_PENDING',
  /** The retry of a call held for approval carries a requestState that is forged, changed, expired, used, or for another call. */
  MRTR_STATE_INVALID: 'PORTCULLIS_MRTR_STATE_INVALID',
  UPSTREAM: 'PORTCULLIS_UPSTREAM',
  UPSTREAM_TIMEOUT: 'PORTCULLIS_UPSTREAM_TIMEOUT',
  RESPONSE_TOO_LARGE: 'PORTCULLIS_RESPONSE_TOO_LARGE',
  JSON_DUPLICATE_KEY: 'PORTCULLIS_JSON_DUPLICATE_KEY',
  BAD_PATH: 'PORTCULLIS_BAD_PATH',
  REQUEST_TIMEOUT: 'PORTCULLIS_REQUEST_TIMEOUT',
  APPROVAL_NOT_FOUND: 'PORTCULLIS_APPROVAL_NOT_FOUND',
  /** Traffic capture: the pod's nftables rules could not be installed, or are not in place. */
  CAPTURE: 'PORTCULLIS_CAPTURE',
  /** A catalog tool's credential is not available to the gate: the allowed call is not sent without it. */
  CREDENTIAL: 'PORTCULLIS_CREDENTIAL',
  // Evidence
  LEDGER_WRITE: 'PORTCULLIS_LEDGER_WRITE',
  LEDGER_CORRUPT: 'PORTCULLIS_LEDGER_CORRUPT',
  /** A request to the object storage that ledgers are shipped to (or read back from) failed. */
  OBJECT_STORE: 'PORTCULLIS_OBJECT_STORE',
  /** An uploaded ledger segment does not match the local file (size or hash): it is kept and uploaded again. */
  SHIP_UNCONFIRMED: 'PORTCULLIS_SHIP_UNCONFIRMED',
  /** A ledger head sent to the witness is behind, or not a continuation of, the head already witnessed for that pod. */
  HEAD_REGRESSED: 'PORTCULLIS_HEAD_REGRESSED',
  /** No ledger head was ever witnessed for that pod. */
  HEAD_NOT_WITNESSED: 'PORTCULLIS_HEAD_NOT_WITNESSED',
  // Configuration and controller
  CONFIG: 'PORTCULLIS_CONFIG',
  /** An error Portcullis did not anticipate: a bug, reported with the decision ID. */
  INTERNAL: 'PORTCULLIS_INTERNAL',
  KUBE_API: 'PORTCULLIS_KUBE_API',
  APPROVAL_MISMATCH: 'PORTCULLIS_APPROVAL_MISMATCH',
  /** A verdict without a valid attestation from the controller's admission webhook: it cannot be shown to come from an approver the policy named. */
  APPROVAL_UNATTESTED: 'PORTCULLIS_APPROVAL_UNATTESTED',
  /** A call to the controller's approvals API without a valid service account token. */
  UNAUTHENTICATED: 'PORTCULLIS_UNAUTHENTICATED',
  /** An authenticated caller asked for another namespace than its own. */
  FORBIDDEN: 'PORTCULLIS_FORBIDDEN',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PortcullisError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PortcullisError';
    this.code = code;
    this.details = details;
  }
}

export function isPortcullisError(e: unknown): e is PortcullisError {
  return e instanceof PortcullisError;
}
