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

function projectsOurToken(v: Volume): boolean {
  return (v.projected?.sources ?? []).some((s) => s.serviceAccountToken?.audience === TOKEN_AUDIENCE);
}

/** Why the pod is not an injected sidecar's, or undefined when it is. */
export function sidecarPodRefusal(pod: Pod, expected: { uid: string; image: string }): string | undefined {
  const who = `pod ${pod.metadata?.namespace}/${pod.metadata?.name}`;
  if (pod.metadata?.uid !== expected.uid) return `${who} is not the pod the token was issued for`;
  if (pod.metadata?.annotations?.[ANNOTATION_INJECTED] === undefined) return `${who} was not injected by Portcullis (no ${ANNOTATION_INJECTED})`;
  const sidecar = (pod.spec?.initContainers ?? []).find((c) => c.name === SIDECAR_NAME);
  if (!sidecar || sidecar.restartPolicy !== 'Always' || sidecar.image !== expected.image || sidecar.command !== undefined || JSON.stringify(sidecar.args ?? []) !== '["sidecar"]') {
    return `${who} does not run the Portcullis sidecar (${expected.image}, args sidecar)`;
  }
  const tokenVolumes = new Set((pod.spec?.volumes ?? []).filter(projectsOurToken).map((v) => v.name));
  const others: Container[] = [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []).filter((c) => c !== sidecar),
    ...((pod.spec?.ephemeralContainers ?? []) as Container[]),
  ];
  const reader = others.find((c) => (c.volumeMounts ?? []).some((m) => tokenVolumes.has(m.name)));
  if (reader) return `${who}: container ${reader.name} mounts the portcullis.dev token, which only the sidecar may`;
  return undefined;
}
