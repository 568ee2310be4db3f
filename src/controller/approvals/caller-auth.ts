/**
 * Who is calling the approvals API. Sidecars send the projected service
 * account token the injector mounts (audience `portcullis.dev`); the
 * controller asks the API server about it (TokenReview) and lets a caller
 * act only in its own namespace, and only when the token is bound to a pod
 * the injection made (sidecar-pod.ts): any pod may mount a token for this
 * audience. Sidecars thus hold no Kubernetes API credentials: the token is
 * good for this audience only.
 */
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { KubeApi, TokenReviewResult } from '../k8s/kube-api.ts';
import { sidecarPodRefusal } from './sidecar-pod.ts';
import { bearerToken } from '../../gate/headers.ts';
import { ReviewCache } from './review-cache.ts';

export const TOKEN_AUDIENCE = 'portcullis.dev';

export interface ServiceAccountIdentity {
  namespace: string;
  name: string;
  /** `system:serviceaccount:NAMESPACE:NAME`. */
  username: string;
  /** The injected pod the token is bound to. */
  pod?: string;
}

export interface CallerAuthOptions {
  kube: KubeApi;
  clock?: () => number;
  /** How long a positive review is trusted (default 60 s); negative ones are not kept. */
  ttlMs?: number;
  /** The sidecar image the injection uses: a caller's pod must run it. */
  sidecarImage: string;
}

const SA_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** A reviewed token's service account and the pod it is bound to. */
interface ReviewedCaller {
  namespace: string;
  name: string;
  username: string;
  pod: { name: string; uid: string };
}

function callerToken(authorization: string | undefined): string {
  const token = bearerToken(authorization);
  if (!token) throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, 'no bearer token: the sidecar must send its projected service account token (audience portcullis.dev)');
  return token;
}

/**
 * The caller the API server's review names; throws UNAUTHENTICATED unless the
 * token is a service account's, for our audience, and FORBIDDEN unless it is
 * bound to a pod.
 */
function reviewedCaller(r: TokenReviewResult): ReviewedCaller {
  if (!r.authenticated) throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, `the token was not accepted by the API server${r.error ? `: ${r.error}` : ''}`);
  if (r.audiences && !r.audiences.includes(TOKEN_AUDIENCE)) throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, `the token is not for audience ${TOKEN_AUDIENCE}`);
  const m = SA_USER.exec(r.username ?? '');
  if (!m) throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, `the token belongs to ${r.username ?? 'nobody'}, not a service account`);
  if (!r.pod) {
    throw new PortcullisError(ErrorCodes.FORBIDDEN, `the token of ${r.username} is not bound to a pod: only the projected token of an injected sidecar is accepted`);
  }
  return { namespace: m[1]!, name: m[2]!, username: r.username!, pod: r.pod };
}

export class CallerAuthenticator {
  private readonly reviews: ReviewCache<ServiceAccountIdentity>;

  constructor(private readonly o: CallerAuthOptions) {
    this.reviews = new ReviewCache(o.ttlMs ?? 60_000, o.clock ?? Date.now);
  }

  /** The service account behind `Authorization: Bearer …`; throws UNAUTHENTICATED otherwise. */
  async authenticate(authorization: string | undefined): Promise<ServiceAccountIdentity> {
    const token = callerToken(authorization);
    const known = this.reviews.get(token);
    if (known) return known;
    const caller = reviewedCaller(await this.o.kube.reviewToken(token, [TOKEN_AUDIENCE]));
    await this.checkSidecarPod(caller);
    const who = { namespace: caller.namespace, name: caller.name, username: caller.username, pod: caller.pod.name };
    this.reviews.set(token, who);
    return who;
  }

  /** Throws FORBIDDEN unless the token's pod still exists and is one the injection made. */
  private async checkSidecarPod(caller: ReviewedCaller): Promise<void> {
    const pod = await this.o.kube.readPod(caller.namespace, caller.pod.name);
    const refusal = pod ? sidecarPodRefusal(pod, { uid: caller.pod.uid, image: this.o.sidecarImage }) : `pod ${caller.namespace}/${caller.pod.name} no longer exists`;
    if (refusal) throw new PortcullisError(ErrorCodes.FORBIDDEN, `not a Portcullis sidecar: ${refusal}`);
  }

  /** Throws FORBIDDEN unless the caller's namespace is `namespace`. */
  static allow(who: ServiceAccountIdentity, namespace: string): void {
    if (who.namespace !== namespace) {
      throw new PortcullisError(ErrorCodes.FORBIDDEN, `service account ${who.namespace}/${who.name} may request approvals only in namespace ${who.namespace}, not ${namespace}`);
    }
  }
}
