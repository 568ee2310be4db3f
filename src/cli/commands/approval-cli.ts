/** What `portcullis approve` and `portcullis reject` share. */
import type { CommandIO } from '../command.ts';
import type { Approval } from '../../gate/types.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';
import { adminBackend, type ApprovalsBackend } from './approval-backend.ts';

export function verdictUsage(name: 'approve' | 'reject'): string {
  return `Usage: portcullis ${name} [ID] [--approver NAME] [--admin URL [--token-file FILE] | --kube [--kubeconfig PATH] [-n NAMESPACE]] [--json]

${name === 'approve' ? 'Approves' : 'Rejects'} a call held for approval (effect escalate). Without ID,
lists the calls waiting. The ID is printed by the gate when it holds a call
and returned by GET /v1/approvals on the admin port.

Options:
  --approver NAME   who gives the verdict (default: the Kubernetes user with --kube, else $USER)
  --admin URL       the gate's admin endpoint (default http://PORTCULLIS_ADMIN_HOST:PORTCULLIS_ADMIN_PORT)
  --token-file FILE the admin token portcullis dev wrote (default .portcullis/admin-token,
                    PORTCULLIS_ADMIN_TOKEN_FILE)
  --kube            on Kubernetes: ID is an ActionApproval (NAME or NAMESPACE/NAME),
                    decided through the Kubernetes API (also when --kubeconfig is given)
  --kubeconfig PATH kubeconfig to use (default $KUBECONFIG, ~/.kube/config, or in-cluster)
  -n, --namespace N namespace of the ActionApprovals (default the context's; * for all)
  --json            print JSON`;
}

interface BackendFlags {
  admin?: string;
  'token-file'?: string;
  kube?: boolean;
  kubeconfig?: string;
  namespace?: string;
}

/** Picks the backend: the Kubernetes API with --kube/--kubeconfig, else the local admin endpoint. */
async function backendFor(flags: BackendFlags, io: CommandIO): Promise<ApprovalsBackend> {
  const { admin } = flags;
  if (flags.kube || flags.kubeconfig) {
    const { kubeBackend } = await import('./kube-approval-backend.ts');
    return kubeBackend({ kubeconfig: flags.kubeconfig ?? io.env.KUBECONFIG, namespace: flags.namespace });
  }
  const { readAdminToken, DEFAULT_ADMIN_TOKEN_FILE } = await import('../../sidecar/admin-token.ts');
  const { resolve } = await import('node:path');
  // Without the file the request goes out bare, and the gate's 401 says where the token is.
  const token = await readAdminToken(resolve(io.cwd, flags['token-file'] ?? io.env.PORTCULLIS_ADMIN_TOKEN_FILE ?? DEFAULT_ADMIN_TOKEN_FILE));
  if (admin) return adminBackend(admin, token);
  const { loadConfig } = await import('../../config/config.ts');
  const c = loadConfig(io.env);
  const host = c.adminHost.includes(':') ? `[${c.adminHost}]` : c.adminHost;
  return adminBackend(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${c.adminPort}`, token);
}

export async function runVerdict(name: 'approve' | 'reject', verdict: Approval['verdict'], argv: string[], io: CommandIO): Promise<number> {
  const usage = verdictUsage(name);
  const parsed = parseCommandArgs(io, name, usage, {
    args: argv,
    allowPositionals: true,
    options: {
      approver: { type: 'string' },
      admin: { type: 'string' },
      'token-file': { type: 'string' },
      json: { type: 'boolean' },
      kube: { type: 'boolean' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
    },
  });
  if (typeof parsed === 'number') return parsed;
  const [id, ...extra] = parsed.positionals;
  if (extra.length > 0) return usageError(io, name, 'give one approval ID', usage);
  try {
    const backend = await backendFor(parsed.values, io);
    if (!id) return await listPending(backend, parsed.values.json === true, io);
    return await giveVerdict(backend, { id, verdict, approver: parsed.values.approver, json: parsed.values.json === true }, io);
  } catch (e) {
    return reportError(io, name, e);
  }
}

/** Without an ID: the calls waiting for a verdict. */
async function listPending(backend: ApprovalsBackend, json: boolean, io: CommandIO): Promise<number> {
  const pending = await backend.list();
  if (json) io.stdout.write(JSON.stringify(pending, null, 2) + '\n');
  else if (pending.length === 0) io.stdout.write('no calls are waiting for approval\n');
  else for (const p of pending) io.stdout.write(`${p.id}  ${p.summary}\n    ${p.reason}; approvers ${p.approvers.join(', ') || 'any'}; expires ${p.expiresAt}\n`);
  return 0;
}

interface VerdictRequest {
  id: string;
  verdict: Approval['verdict'];
  /** --approver; when absent, who the backend says we are, else $USER. */
  approver: string | undefined;
  json: boolean;
}

async function giveVerdict(backend: ApprovalsBackend, req: VerdictRequest, io: CommandIO): Promise<number> {
  const approver = req.approver ?? (await backend.whoAmI?.()) ?? io.env.USER ?? 'cli';
  const approval = await backend.decide(req.id, req.verdict, approver);
  if (req.json) io.stdout.write(JSON.stringify(approval, null, 2) + '\n');
  else io.stdout.write(`${approval.verdict} ${approval.id} as ${approval.approver} (input ${approval.inputHash})\n`);
  return 0;
}
