/**
 * Whose verdict counts for a held call: the approvers a policy names
 * (`user:NAME`, `group:NAME`, `serviceaccount:NAMESPACE:NAME`, or a bare user
 * name) matched against an identity. Pure; shared by the controller's
 * admission webhooks (Kubernetes users and groups), the sidecar's check of a
 * verdict it receives (with the groups the webhook attested), and the local
 * admin API.
 */

export interface ApproverIdentity {
  username: string;
  groups?: readonly string[];
}

/** Whether `user` is one of `approvers`; an empty list lets anyone decide. */
export function isRequestedApprover(approvers: readonly string[], user: ApproverIdentity): boolean {
  if (approvers.length === 0) return true;
  return approvers.some((a) => {
    const [kind, ...rest] = a.split(':');
    const name = rest.join(':');
    if (rest.length === 0) return a === user.username;
    if (kind === 'user') return name === user.username;
    if (kind === 'group') return (user.groups ?? []).includes(name);
    if (kind === 'serviceaccount') return user.username === `system:serviceaccount:${name}`;
    return false;
  });
}

/** The groups `username` is in, from a membership map (group → comma-separated users; local mode's PORTCULLIS_APPROVER_GROUPS). */
export function groupsOf(membership: Readonly<Record<string, string>>, username: string): string[] {
  return Object.entries(membership)
    .filter(([, members]) => members.split(',').map((m) => m.trim()).includes(username))
    .map(([group]) => group);
}
