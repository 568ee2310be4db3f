/**
 * The names a TLS peer's certificate carries: its subject CN and its DNS and
 * URI subject alternative names (a SPIFFE ID is a URI SAN). The approval
 * proxy's listener accepts only a certificate naming one of the configured
 * names, so a CA shared with other clients does not let all of them speak
 * for people.
 */
import type { PeerCertificate } from 'node:tls';

export function peerCertificateNames(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'> | undefined): string[] {
  if (!cert) return [];
  const names: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...(cn as string[]));
  for (const entry of (cert.subjectaltname ?? '').split(', ')) {
    const m = /^(DNS|URI):(.+)$/.exec(entry);
    if (m) names.push(m[2]!);
  }
  return names;
}
