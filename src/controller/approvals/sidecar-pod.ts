/**
 * Whether a pod is one the injection made, so that its portcullis.dev token
 * can only be the sidecar's (pure). Any pod may mount a projected token for
 * audience portcullis.dev; the approvals API takes one only when the pod it
 * is bound to (TokenReview) runs our sidecar — our image, running `sidecar`,
 * its command not replaced — and no other container of the pod mounts a
 * volume that projects such a token. The pod's UID must be the token's, so a
 * token outlives neither its pod nor a pod of the same name made later.
 */
import type { Container, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { TOKEN_AUDIENCE } from './caller-auth.ts';
import { ANNOTATION_INJECTED, SIDECAR_NAME } from '../webhooks/inject.ts';
import { firstRefusal, type RefusalCheck } from '../first-refusal.ts';

/** What the token names: the pod it is bound to, and the image the injection uses. */
interface Expected {
  uid: string;
  image: string;
}

/** The pod under check, what the token names, and how messages name the pod. */
interface PodUnderCheck {
  pod: Pod;
  expected: Expected;
  who: string;
}

function projectsOurToken(v: Volume): boolean {
  return (v.projected?.sources ?? []).some((s) => s.serviceAccountToken?.audience === TOKEN_AUDIENCE);
}

function sidecarOf(pod: Pod): Container | undefined {
  return (pod.spec?.initContainers ?? []).find((c) => c.name === SIDECAR_NAME);
}

/** Our image, a native sidecar, running `sidecar` with its command not replaced. */
function runsOurSidecar(c: Container, image: string): boolean {
  return c.restartPolicy === 'Always' && c.image === image && c.command === undefined && JSON.stringify(c.args ?? []) === '["sidecar"]';
}

/** Every container of the pod but the sidecar, ephemeral ones included. */
function otherContainers(pod: Pod, sidecar: Container | undefined): Container[] {
  return [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []).filter((c) => c !== sidecar),
    ...((pod.spec?.ephemeralContainers ?? []) as Container[]),
  ];
}

function isTheTokensPod({ pod, expected, who }: PodUnderCheck): string | undefined {
  if (pod.metadata?.uid === expected.uid) return undefined;
  return `${who} is not the pod the token was issued for`;
}

function wasInjected({ pod, who }: PodUnderCheck): string | undefined {
  if (pod.metadata?.annotations?.[ANNOTATION_INJECTED] !== undefined) return undefined;
  return `${who} was not injected by Portcullis (no ${ANNOTATION_INJECTED})`;
}

function runsTheSidecar({ pod, expected, who }: PodUnderCheck): string | undefined {
  const sidecar = sidecarOf(pod);
  if (sidecar && runsOurSidecar(sidecar, expected.image)) return undefined;
  return `${who} does not run the Portcullis sidecar (${expected.image}, args sidecar)`;
}

function onlyTheSidecarMountsTheToken({ pod, who }: PodUnderCheck): string | undefined {
  const tokenVolumes = new Set((pod.spec?.volumes ?? []).filter(projectsOurToken).map((v) => v.name));
  const reader = otherContainers(pod, sidecarOf(pod)).find((c) => (c.volumeMounts ?? []).some((m) => tokenVolumes.has(m.name)));
  if (!reader) return undefined;
  return `${who}: container ${reader.name} mounts the portcullis.dev token, which only the sidecar may`;
}

/** In the order a caller meets them. */
const SIDECAR_POD_CHECKS: readonly RefusalCheck<PodUnderCheck>[] = [isTheTokensPod, wasInjected, runsTheSidecar, onlyTheSidecarMountsTheToken];

/** Why the pod is not an injected sidecar's, or undefined when it is. */
export function sidecarPodRefusal(pod: Pod, expected: Expected): string | undefined {
  const who = `pod ${pod.metadata?.namespace}/${pod.metadata?.name}`;
  return firstRefusal(SIDECAR_POD_CHECKS, { pod, expected, who });
}
