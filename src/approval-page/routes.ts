/**
 * The approval page's routes, the same wherever it is served (the local
 * gate's admin port, the controller): `GET /approvals/` (the page; it holds
 * no data), its script and style, `GET /approvals/events` (server-sent
 * events: the held calls this person may decide, again whenever they change)
 * and `POST /approvals/decide` (a verdict bound to the call's input hash).
 * Who the person is, which calls they see and how a verdict is given belong
 * to the place that serves the page (ApprovalPageSource).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { errorBody, httpStatusFor, toPortcullisError } from '../gate/error-response.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { PAGE_CSP, PAGE_CSS, PAGE_HTML, PAGE_JS } from './assets.ts';
import type { PageItem } from './item.ts';

export interface PageUser {
  /** The approver's name as verdicts record it. */
  name: string;
  /** Locally the token holder names themself (one of the approvers the policy named); in the cluster the name is the authenticated user's. */
  choosesName?: boolean;
  /** Kept in-process for the source (the user's own credential); never sent to the page. */
  credential?: string;
  groups?: readonly string[];
}

export interface PageVerdict {
  id: string;
  verdict: 'approved' | 'rejected';
  inputHash: string;
  /** The name given on the page (used where the user chooses it). */
  approver: string;
}

export interface ApprovalPageSource {
  /** The person behind the request; throws PortcullisError UNAUTHENTICATED or FORBIDDEN. */
  authenticate(headers: IncomingHttpHeaders): Promise<PageUser>;
  /** The held calls this person may decide, soonest to expire first. */
  list(user: PageUser): PageItem[];
  /** Gives the verdict; throws PortcullisError (APPROVAL_NOT_FOUND, APPROVAL_MISMATCH, FORBIDDEN…). */
  decide(user: PageUser, verdict: PageVerdict): Promise<void>;
  /** Calls `listener` whenever held calls may have changed; returns the unsubscribe. */
  watch(listener: () => void): () => void;
  /** One line on how to sign in, shown beside the token field. */
  signInHint: string;
}

/** How often an idle event stream says it is alive (proxies close silent ones). */
const KEEPALIVE_MS = 20_000;
/** The header the page sends on its API calls: a plain cross-site form can set none, so a proxy's session cookie alone cannot decide. */
const PAGE_HEADER = 'x-portcullis-page';

function secure(reply: FastifyReply, type: string): FastifyReply {
  return reply
    .header('content-type', type)
    .header('content-security-policy', PAGE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store');
}

function refuse(reply: FastifyReply, err: unknown, hint?: string): FastifyReply {
  const e = toPortcullisError(err);
  const body = errorBody(e);
  return secure(reply.code(httpStatusFor(e.code)), 'application/json; charset=utf-8').send(hint && e.code === ErrorCodes.UNAUTHENTICATED ? { ...body, hint } : body);
}

function fromPage(req: FastifyRequest): void {
  if (req.headers[PAGE_HEADER] !== '1') throw new PortcullisError(ErrorCodes.FORBIDDEN, `the approvals page API answers the page only (header ${PAGE_HEADER}: 1)`);
}

function verdictOf(body: unknown): PageVerdict {
  const b = (body ?? {}) as Record<string, unknown>;
  const { id, verdict, inputHash, approver } = b;
  if (typeof id !== 'string' || (verdict !== 'approved' && verdict !== 'rejected') || typeof inputHash !== 'string' || !inputHash) {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, 'send {"id", "verdict": "approved" | "rejected", "inputHash", "approver"?}');
  }
  return { id, verdict, inputHash, approver: typeof approver === 'string' ? approver.trim() : '' };
}

function eventOf(source: ApprovalPageSource, user: PageUser): string {
  const data = { now: new Date().toISOString(), user: { name: user.name, choosesName: user.choosesName === true }, approvals: source.list(user) };
  return `event: approvals\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The live list: one event now, one after every change (coalesced), until the
 * person's credential stops being accepted or the server closes (`open`
 * holds the ends of the streams: a server waits for open requests to end).
 */
function stream(page: { source: ApprovalPageSource; open: Set<() => void> }, req: FastifyRequest, reply: FastifyReply, user: PageUser): void {
  const { source, open } = page;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // Tells nginx-style proxies not to buffer the stream.
    'x-accel-buffering': 'no',
  });
  let queued = false;
  let closed = false;
  const push = (): void => {
    if (queued || closed) return;
    queued = true;
    setImmediate(() => {
      queued = false;
      if (closed) return;
      // A revoked token ends the stream; the page then asks again.
      source.authenticate(req.headers).then(
        (again) => void (closed || res.write(eventOf(source, again))),
        () => close(),
      );
    });
  };
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  const unwatch = source.watch(push);
  const close = (): void => {
    if (closed) return;
    closed = true;
    open.delete(close);
    clearInterval(keepalive);
    unwatch();
    res.end();
  };
  open.add(close);
  req.raw.once('close', close);
  res.once('error', close);
  res.write(eventOf(source, user));
}

export function registerApprovalPage(app: FastifyInstance, source: ApprovalPageSource): void {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });
  app.get('/approvals', async (_req, reply) => reply.redirect('approvals/', 302));
  app.get('/approvals/', async (_req, reply) => secure(reply, 'text/html; charset=utf-8').send(PAGE_HTML));
  app.get('/approvals/page.js', async (_req, reply) => secure(reply, 'text/javascript; charset=utf-8').send(PAGE_JS));
  app.get('/approvals/page.css', async (_req, reply) => secure(reply, 'text/css; charset=utf-8').send(PAGE_CSS));
  app.get('/approvals/events', async (req, reply) => {
    let user: PageUser;
    try {
      fromPage(req);
      user = await source.authenticate(req.headers);
    } catch (e) {
      return refuse(reply, e, source.signInHint);
    }
    stream({ source, open }, req, reply, user);
    return reply;
  });
  app.post('/approvals/decide', async (req, reply) => {
    try {
      fromPage(req);
      const user = await source.authenticate(req.headers);
      const verdict = verdictOf(req.body);
      await source.decide(user, verdict);
      return secure(reply, 'application/json; charset=utf-8').send({ id: verdict.id, verdict: verdict.verdict, inputHash: verdict.inputHash });
    } catch (e) {
      return refuse(reply, e, source.signInHint);
    }
  });
}
