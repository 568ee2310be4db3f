/**
 * Sign-in to the controller's approval page through an authenticating proxy
 * (oauth2-proxy, an ingress's external auth): the proxy signs the person in
 * and names them in headers (`X-Forwarded-User`, `X-Forwarded-Groups` by
 * default). Anyone can send such headers, so they are read only on the
 * listener the proxy alone can reach: it asks for a client certificate and
 * accepts only one signed by the CA the platform gives for the proxy
 * (controller.ts, PORTCULLIS_APPROVAL_PROXY_CA_FILE); this sign-in is never
 * offered on the other ports.
 *
 * A verdict is written with the controller's credentials impersonating the
 * person and their groups (k8s/impersonation.ts), so RBAC and the verdict
 * webhook judge the person, as with their own token. Names under `system:`
 * are refused: a proxy never speaks for service accounts, nodes or
 * `system:masters`. The platform names whom the proxy may speak for
 * (ProxyScope: PORTCULLIS_APPROVAL_PROXY_USERS and _GROUPS), and the chart
 * limits the controller's impersonation grant to the same names
 * (`resourceNames`), so the API server itself holds the controller to them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { PageUser } from '../../approval-page/routes.ts';
import type { KubeApi } from '../k8s/kube-api.ts';
import type { PageSignIn } from './approval-page.ts';

export interface ProxyHeaders {
  /** Header naming the person (lower case), e.g. `x-forwarded-user`. */
  user: string;
  /** Header with the person's groups, comma-separated; empty: no groups. */
  groups: string;
}

/** Whom the proxy may speak for: `users` empty means any user; `groups` empty means none. */
export interface ProxyScope {
  users: readonly string[];
  groups: readonly string[];
}

export const DEFAULT_PROXY_HEADERS: Readonly<ProxyHeaders> = Object.freeze({ user: 'x-forwarded-user', groups: 'x-forwarded-groups' });

const RESERVED = /^system:/i;

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  // Node joins a repeated header with ", "; a person has one name.
  if (Array.isArray(v)) return undefined;
  return typeof v === 'string' ? v.trim() : undefined;
}

/** The person the proxy names; throws UNAUTHENTICATED without one, FORBIDDEN for a reserved name. */
export function proxyUser(headers: IncomingHttpHeaders, names: ProxyHeaders): PageUser {
  const user = one(headers, names.user);
  if (!user || user.includes(',')) throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, `the authenticating proxy named nobody (one ${names.user} header expected)`);
  const raw = names.groups ? headers[names.groups] : undefined;
  const groups = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',').map((g) => g.trim()).filter(Boolean);
  const reserved = [user, ...groups].find((n) => RESERVED.test(n));
  if (reserved) throw new PortcullisError(ErrorCodes.FORBIDDEN, `the authenticating proxy may not speak for ${reserved}: names under system: are Kubernetes' own`);
  return { name: user, groups: [...new Set(groups)] };
}

/**
 * The person as this controller may speak for them: refused (FORBIDDEN) when
 * the scope lists users and not them; their groups narrowed to the scope's,
 * so that impersonation asks the API server for no group it was not granted.
 */
export function withinScope(user: PageUser, scope: ProxyScope): PageUser {
  if (scope.users.length > 0 && !scope.users.includes(user.name)) {
    throw new PortcullisError(ErrorCodes.FORBIDDEN, `the authenticating proxy may not speak for ${user.name}: not among the users it may name (PORTCULLIS_APPROVAL_PROXY_USERS, the chart's approvals.proxy.users)`);
  }
  return { name: user.name, groups: (user.groups ?? []).filter((g) => scope.groups.includes(g)) };
}

export function proxySignIn(kube: KubeApi, names: ProxyHeaders, scope: ProxyScope): PageSignIn {
  return {
    hint: 'Sign in through your organisation\'s login in front of this page; reload the page once signed in.',
    authenticate: async (headers) => withinScope(proxyUser(headers, names), scope),
    writer: (user) => kube.impersonate?.({ user: user.name, groups: user.groups ?? [] }),
  };
}
