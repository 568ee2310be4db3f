/** The policy input (design.md §2), built from an action and the call's context. */
import type { Action, AgentIdentity, Approval, Mode, PolicyInput } from './types.ts';

export const UNKNOWN_AGENT: AgentIdentity = Object.freeze({
  namespace: '',
  pod: '',
  serviceAccount: '',
  labels: Object.freeze({}) as Record<string, string>,
  annotations: Object.freeze({}) as Record<string, string>,
});

export interface InputContext {
  time: Date;
  mode: Mode;
  traceId: string;
  approval?: Approval | null;
}

export function buildPolicyInput(action: Action, agent: AgentIdentity, ctx: InputContext): PolicyInput {
  return {
    action,
    agent,
    context: {
      time: ctx.time.toISOString(),
      mode: ctx.mode,
      traceId: ctx.traceId,
      approval: ctx.approval ?? null,
    },
  };
}

/** The same input with an approval attached, for the re-evaluation after escalation. */
export function withApproval(input: PolicyInput, approval: Approval): PolicyInput {
  return { ...input, context: { ...input.context, approval } };
}

/** One line for humans, used in approval requests and logs. */
export function summariseAction(action: Action): string {
  if (action.type === 'mcp' && action.mcp) {
    const m = action.mcp;
    const args = m.arguments ? ' ' + JSON.stringify(m.arguments) : '';
    return m.method === 'tools/call' ? `mcp ${m.server} ${m.name}${args}`.slice(0, 300) : `mcp ${m.server} ${m.method}`;
  }
  const h = action.http;
  if (!h) return action.type;
  if (action.type === 'connect') return `connect ${h.host}:${h.port}`;
  return `http ${action.tool} ${h.method} ${h.host}:${h.port}${h.path}`;
}
