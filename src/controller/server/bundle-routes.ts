/**
 * The bundle server: `GET /v1/bundles/{namespace}/{name}` returns the
 * OPA-format bundle archive with `ETag: "<tag>"` (bundleTag: the digest, plus
 * `;mode=…` when the PolicyBundle sets a mode) and `x-portcullis-digest`. With
 * `If-None-Match: "<tag>"` and `?wait=30s` the request is held until the
 * tag changes (200 with the new bundle) or the wait ends (304): a change
 * reaches every waiting sidecar in one round trip.
 *
 * With `access` (the default in `startController`, PORTCULLIS_BUNDLE_AUTH=token),
 * a caller must send its projected service account token (checked by
 * TokenReview, bound to an injected sidecar's pod, as the approvals API
 * does) and gets only a bundle its namespace may use (its annotation
 * `portcullis.dev/policies`, else its own namespace's bundles): 401 without a
 * valid token, 403 PORTCULLIS_FORBIDDEN otherwise. Checked before the long
 * poll, so a refused caller is not held.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import { errorBody } from '../../gate/error-response.ts';
import { publishedTag, type BundleStore } from '../bundles/bundle-store.ts';
import { parseWait } from './wait-param.ts';

export const MAX_WAIT_MS = 60_000;
export const DIGEST_HEADER = 'x-portcullis-digest';

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The digests named by an If-None-Match header (quoted, weak or not). */
function knownDigest(header: string | string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  const first = v.split(',')[0]!.trim().replace(/^W\//, '');
  return first.replace(/^"|"$/g, '') || undefined;
}

export interface BundleAccess {
  /** The caller's namespace from `Authorization: Bearer …`; throws UNAUTHENTICATED / FORBIDDEN. */
  authenticate(authorization: string | undefined): Promise<{ namespace: string }>;
  /** Why a pod of `namespace` may not have bundle `key` (`namespace/name`), or undefined when it may. */
  refusal(key: string, namespace: string): string | undefined;
}

export function registerBundleRoutes(app: FastifyInstance, store: BundleStore, access?: BundleAccess): void {
  app.get<{ Params: { namespace: string; name: string }; Querystring: { wait?: string } }>(
    '/v1/bundles/:namespace/:name',
    async (req, reply) => {
      const { namespace, name } = req.params;
      if (!NAME.test(namespace) || !NAME.test(name)) {
        return reply.code(400).send(errorBody(new PortcullisError(ErrorCodes.BAD_REQUEST, 'bundle path must be /v1/bundles/NAMESPACE/NAME with DNS-1123 names')));
      }
      const waitMs = parseWait(req.query.wait, MAX_WAIT_MS);
      if (waitMs === undefined) {
        return reply.code(400).send(errorBody(new PortcullisError(ErrorCodes.BAD_REQUEST, `wait="${req.query.wait}" is invalid: use e.g. 30s or 500ms`)));
      }
      const key = `${namespace}/${name}`;
      if (access) {
        const who = await access.authenticate(req.headers.authorization);
        const refused = access.refusal(key, who.namespace);
        if (refused) return reply.code(403).send(errorBody(new PortcullisError(ErrorCodes.FORBIDDEN, `a sidecar of namespace ${who.namespace} may not have ${key}: ${refused}`)));
      }
      const known = knownDigest(req.headers['if-none-match']);
      const abort = new AbortController();
      req.raw.once('close', () => abort.abort());
      const current = await store.waitForChange(key, known, waitMs, abort.signal);
      reply.header('cache-control', 'no-cache');
      if (!current) {
        return reply
          .code(404)
          .send(errorBody(new PortcullisError(ErrorCodes.POLICY_NO_BUNDLE, `no bundle is served for PolicyBundle ${key}: it does not exist or has never compiled and passed its tests`)));
      }
      const tag = publishedTag(current);
      reply.header('etag', `"${tag}"`).header(DIGEST_HEADER, current.digest);
      if (tag === known) return reply.code(304).send();
      return reply.code(200).type('application/vnd.openpolicyagent.bundle+gzip').send(Buffer.from(current.archive));
    },
  );
}
