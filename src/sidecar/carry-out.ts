/**
 * Carrying out decided calls, with one end. Whatever the effect does or
 * throws, every decision of the call is finished exactly once (call-end.ts):
 * a refused call before its answer (status 0: the refusal is on record before
 * the agent reads it), a forwarded call with what the agent received, a
 * failed one with the status the agent got and the error's code.
 */
import type { FastifyReply } from 'fastify';
import { ErrorCodes, type PortcullisError } from '../errors.ts';
import { httpStatusFor, toPortcullisError } from '../gate/error-response.ts';
import type { FinishInfo } from './call-end.ts';
import type { Decided } from './decider.ts';
import { sendError } from './proxy-context.ts';

export type Forwarding = Decided & { outcome: Extract<Decided['outcome'], { kind: 'forward' }> };

/**
 * The status the agent gets for a failed call: what was already sent, or the
 * error's status that sendError is about to send. The outcome records this,
 * not the upstream's status (or 0 when none arrived).
 */
function agentStatus(reply: FastifyReply, err: PortcullisError): number {
  return reply.sent ? reply.statusCode : httpStatusFor(err.code);
}

/**
 * Refuses or forwards the call `decisions[0]` decided (the others, messages of
 * one batch forwarded together, end as it does); `forward` relays the answer
 * and resolves with what the agent received, or throws before anything was
 * sent, or after (the answer is then cut off).
 */
export async function carryOut(reply: FastifyReply, decisions: readonly Decided[], forward: (call: Forwarding) => Promise<FinishInfo>): Promise<void> {
  const lead = decisions[0]!;
  const refs = { decisionId: lead.decisionId, traceId: lead.traceId };
  const end = (info: FinishInfo): void => {
    for (const d of decisions) d.finish(info);
  };
  if (lead.outcome.kind === 'deny') {
    end({ status: 0, bytes: 0, errorCode: lead.outcome.error.code });
    return sendError(reply, lead.outcome.error, refs);
  }
  let info: FinishInfo;
  try {
    info = await forward(lead as Forwarding);
  } catch (e) {
    const err = toPortcullisError(e, ErrorCodes.UPSTREAM);
    end({ status: agentStatus(reply, err), bytes: 0, errorCode: err.code });
    return sendError(reply, err, refs);
  }
  end(info);
}
