/**
 * Approval as an MCP 2026-07-28 client sees it (multi round-trip requests):
 * a `tools/call` that needs approval is not held. The gate asks for approval
 * and answers at once with an `InputRequiredResult` whose URL elicitation
 * points at the approval, and a `requestState` that binds the call
 * (request-state.ts). The client shows the URL, and retries with the state
 * once the person is done; the retry is decided with the verdict, once. A
 * client that cannot show a URL, and every 2025 client, is held as before.
 */
import type { Action, McpAction } from '../gate/types.ts';
import type { JsonRpcMessage } from '../gate/mcp-action.ts';
import { callHash, isGateState, newStateKey, openState, sealState } from '../gate/request-state.ts';
import { randomHex } from './random-hex.ts';
import { ErrorCodes, type PortcullisError } from '../errors.ts';
import type { ProxyContext } from './proxy-context.ts';
import { approvalPageUrl } from './approval-url.ts';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stateKey(ctx: ProxyContext): Buffer {
  return (ctx.requestStateKey ??= newStateKey());
}

/** What a message asks of the decider: hold its escalation or not, or resume one. */
export interface ApprovalRound {
  deferEscalation?: boolean;
  resumeApproval?: string;
  /** A retry: the gate's own round fields are taken out before the call goes upstream. */
  strip?: boolean;
}

/**
 * For one message of a request: a retry carrying the gate's requestState is
 * checked (throws MRTR_STATE_INVALID) and resumes its approval; a 2026-07-28
 * tool call from a client that can show a URL has its escalation deferred.
 */
export function approvalRound(ctx: ProxyContext, m: JsonRpcMessage, action: Action, alone: boolean): ApprovalRound {
  const mcp = action.mcp;
  if (!alone || mcp?.method !== 'tools/call') return {};
  const params = isObject(m.params) ? m.params : {};
  if (isGateState(params.requestState)) {
    const state = openState(stateKey(ctx), params.requestState, { call: callHash(action), digest: ctx.engine.current()?.digest ?? '', now: Date.now() });
    return { resumeApproval: state.approvalId, strip: true };
  }
  return showsUrls(mcp) ? { deferEscalation: true } : {};
}

/** A 2026-07-28 client that declared it can show a URL (elicitation in URL mode). */
function showsUrls(mcp: McpAction): boolean {
  const elicitation = mcp.clientCapabilities?.elicitation;
  return (mcp.protocolVersion ?? '') >= '2026-07-28' && isObject(elicitation) && elicitation.url !== undefined;
}

/** The message as it goes upstream: without the gate's requestState and the answer to its URL. */
export function stripApprovalRound(m: JsonRpcMessage): JsonRpcMessage {
  if (!isObject(m.params)) return m;
  const { requestState: _state, inputResponses: _answers, ...params } = m.params;
  return { ...m, params };
}

/** For a call answered APPROVAL_PENDING: the input-required result that asks the client to show the approval and retry. */
export function approvalRequired(ctx: ProxyContext, m: JsonRpcMessage, action: Action, error: PortcullisError): unknown | undefined {
  const approval = pendingApproval(m, error);
  if (!approval) return undefined;
  const requestState = sealState(stateKey(ctx), {
    approvalId: approval.approvalId,
    call: callHash(action),
    digest: ctx.engine.current()?.digest ?? '',
    exp: Date.parse(approval.expiresAt ?? '') || Date.now(),
    nonce: randomHex(8),
  });
  return {
    jsonrpc: '2.0',
    id: m.id,
    result: {
      resultType: 'input_required',
      inputRequests: {
        approval: { method: 'elicitation/create', params: { mode: 'url', message: `${action.mcp?.name ?? 'this call'} needs approval: ${error.message}`, url: approvalPageUrl(ctx.config, approval.approvalId) } },
      },
      requestState,
    },
  };
}

/** The approval a request (one with an id) waits for, when it was answered APPROVAL_PENDING. */
function pendingApproval(m: JsonRpcMessage, error: PortcullisError): { approvalId: string; expiresAt?: string } | undefined {
  if (error.code !== ErrorCodes.APPROVAL_PENDING || m.id === undefined) return undefined;
  const details = (error.details ?? {}) as { approvalId?: string; expiresAt?: string };
  return details.approvalId ? { approvalId: details.approvalId, ...(details.expiresAt ? { expiresAt: details.expiresAt } : {}) } : undefined;
}
