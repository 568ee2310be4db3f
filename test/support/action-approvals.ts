/**
 * ActionApproval objects as a sidecar would create them, for the tests that
 * put pending approvals in a real kube-apiserver: an MCP `write_file` to
 * `/prod/<name>`, held for the named approvers, valid for an hour.
 */

/** A sha256 digest of one repeated hex character: distinct per test call, and visibly made up. */
export const inputHash = (c: string): string => 'sha256:' + c.repeat(64);

export interface HeldWriteOptions {
  /** Arguments beside `path`. */
  arguments?: Record<string, unknown>;
  policyDigest?: string;
}

export function heldWrite(name: string, approvers: string[], hash: string, options: HeldWriteOptions = {}): any {
  return {
    apiVersion: 'portcullis.dev/v1alpha1',
    kind: 'ActionApproval',
    metadata: { name, namespace: 'agents' },
    spec: {
      inputHash: hash,
      summary: `mcp fs write_file /prod/${name}`,
      action: { type: 'mcp', tool: 'write_file', mcp: { server: 'fs', method: 'tools/call', name: 'write_file', arguments: { path: `/prod/${name}`, ...options.arguments } } },
      agent: { namespace: 'agents', pod: 'agent-1', serviceAccount: 'agent' },
      approvers,
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      reason: 'writes to /prod need a person',
      requestId: `req-${name}`,
      ...(options.policyDigest === undefined ? {} : { policyDigest: options.policyDigest }),
    },
  };
}
