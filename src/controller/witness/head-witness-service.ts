/**
 * The controller's witness of ledger heads. Sidecars send their head (seq,
 * hash, signature) every few seconds; the witness keeps the latest per pod
 * and refuses one that goes back (a lower seq, or another hash at the same
 * seq: the ledger was cut or rewritten since it was last seen). Whatever the
 * sidecar later ships, `portcullis verify … --head-url` (or `--head-file
 * s3://…`) checks it against what was witnessed, long after the pod is gone.
 *
 *   PUT /v1/ledger-heads                           a sidecar's head (its service account token)
 *   GET /v1/ledger-heads/:namespace/:pod[?uid=U]   the witnessed head, as {"head": …}
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import { errorBody, httpStatusFor } from '../../gate/error-response.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { isKubeName, parseWitnessedHead, type WitnessedHead } from '../../evidence/shipping/witnessed-head.ts';
import type { HeadWitnessStore } from './head-witness-store.ts';

export interface HeadWitnessServiceOptions {
  store: HeadWitnessStore;
  /** The caller's namespace from its `Authorization` header; throws UNAUTHENTICATED. */
  authenticate: (authorization: string | undefined) => Promise<{ namespace: string }>;
  logger?: Logger;
}

/** Whether `next` may follow `current`: the same head again, or a later one. Throws HEAD_REGRESSED otherwise. */
export function checkProgress(current: WitnessedHead | undefined, next: WitnessedHead): 'same' | 'later' {
  if (!current || next.seq > current.seq) return 'later';
  const who = `${next.namespace}/${next.pod}${next.uid ? ` (${next.uid})` : ''}`;
  if (next.seq === current.seq && next.hash === current.hash) return 'same';
  if (next.seq === current.seq) {
    throw new PortcullisError(ErrorCodes.HEAD_REGRESSED, `the ledger of ${who} was rewritten: entry ${next.seq} is now ${next.hash}, but ${current.hash} was witnessed at ${current.time}`, {
      witnessed: current,
    });
  }
  throw new PortcullisError(ErrorCodes.HEAD_REGRESSED, `the ledger of ${who} went back from entry ${current.seq} (witnessed at ${current.time}) to entry ${next.seq}: it was cut or restarted`, {
    witnessed: current,
  });
}

export class HeadWitnessService {
  /** One write at a time per pod, so two heads racing cannot store the older one last. */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(private readonly o: HeadWitnessServiceOptions) {}

  /** Records `head` for a caller in `callerNamespace`; resolves with what is now witnessed. */
  async accept(head: WitnessedHead, callerNamespace: string): Promise<WitnessedHead> {
    if (head.namespace !== callerNamespace) {
      throw new PortcullisError(ErrorCodes.FORBIDDEN, `a sidecar of namespace ${callerNamespace} cannot report the ledger head of a pod in ${head.namespace}`);
    }
    const key = `${head.namespace}/${head.pod}/${head.uid ?? ''}`;
    const run = (this.#chains.get(key) ?? Promise.resolve()).catch(() => undefined).then(async () => {
      const current = await this.o.store.get(head.namespace, head.pod, head.uid);
      try {
        if (checkProgress(current, head) === 'same') return current!;
      } catch (e) {
        this.o.logger?.warn({ err: (e as Error).message, namespace: head.namespace, pod: head.pod, seq: head.seq, witnessedSeq: current?.seq }, 'ledger head refused: it goes back from the witnessed one');
        throw e;
      }
      await this.o.store.put(head);
      return head;
    });
    this.#chains.set(key, run);
    try {
      return await run;
    } finally {
      if (this.#chains.get(key) === run) this.#chains.delete(key);
    }
  }

  register(app: FastifyInstance): void {
    app.put('/v1/ledger-heads', async (req, reply) => {
      let caller: { namespace: string };
      try {
        caller = await this.o.authenticate(req.headers.authorization);
      } catch (e) {
        const err = e instanceof PortcullisError ? e : new PortcullisError(ErrorCodes.UNAUTHENTICATED, (e as Error).message);
        return reply.code(httpStatusFor(err.code)).send(errorBody(err));
      }
      try {
        const witnessed = await this.accept(parseWitnessedHead(req.body), caller.namespace);
        return { head: witnessed };
      } catch (e) {
        if (!(e instanceof PortcullisError)) throw e;
        return reply.code(httpStatusFor(e.code)).send(errorBody(e));
      }
    });
    app.get<{ Params: { namespace: string; pod: string }; Querystring: { uid?: string } }>('/v1/ledger-heads/:namespace/:pod', async (req, reply) => {
      // The names become an object key: only what Kubernetes names can be (no "..", no "/").
      const { namespace, pod } = req.params;
      const uid = req.query.uid;
      if (!isKubeName(namespace) || !isKubeName(pod) || (uid !== undefined && !/^[0-9a-f-]{36}$/.test(uid))) {
        return reply.code(400).send(errorBody(new PortcullisError(ErrorCodes.BAD_REQUEST, 'namespace and pod must be Kubernetes names, uid a pod UID')));
      }
      const head = await this.o.store.get(namespace, pod, uid);
      if (!head) {
        const e = new PortcullisError(ErrorCodes.HEAD_NOT_WITNESSED, `no ledger head was witnessed for ${req.params.namespace}/${req.params.pod}`);
        return reply.code(404).send(errorBody(e));
      }
      return { head };
    });
  }
}
