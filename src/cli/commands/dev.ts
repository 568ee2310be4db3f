/**
 * `portcullis dev --policies DIR`: the whole gate as one local process. The
 * folder is compiled and tested, served, and reloaded on every change; a
 * change that does not compile or fails its tests keeps the last good bundle.
 */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { Command, CommandIO } from '../command.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';
import type { ConfigOverrides, SidecarConfig } from '../../config/config.ts';
import type { OpaWasmEngine } from '../../policy/engine.ts';
import type { LoadResult } from '../../sidecar/policy-dir-loader.ts';

const usage = `Usage: portcullis dev --policies DIR [--port N] [--admin-port N] [--mode enforce|observe]
                      [--ledger FILE | --no-ledger] [--host ADDR]

Compiles the policies in DIR, serves the gate on 127.0.0.1, and reloads when
a file in DIR changes (a bundle that fails to compile or to pass its tests is
not loaded; the last good one stays). DIR must exist when dev starts
(PORTCULLIS_CONFIG otherwise). Every PORTCULLIS_* variable applies;
flags override them.

Options:
  --policies DIR     policy folder (.rego, data.json, portcullis.yaml, tests/)
  --port N           proxy port (default 7070, PORTCULLIS_PORT)
  --admin-port N     admin port: /healthz /readyz /metrics /v1/approvals (default 7071)
  --mode M           enforce (default) or observe
  --ledger FILE      evidence ledger (default .portcullis/ledger.jsonl)
  --no-ledger        record no ledger
  --host ADDR        address to bind (default 127.0.0.1)
  --token-file FILE  where to write the admin token approvals need, mode 0600
                     (default .portcullis/admin-token, PORTCULLIS_ADMIN_TOKEN_FILE)

Approvers named group:NAME in a policy are resolved with
PORTCULLIS_APPROVER_GROUPS, e.g. {"payments": "alice,bob"}.`;

function printBanner(io: CommandIO, o: { dir: string; proxyUrl: string; adminUrl: string; mode: string; ledger: string; tokenFile: string; tools: { name: string; kind: string; url: string }[] }): void {
  const w = (s: string): boolean => io.stdout.write(s + '\n');
  w(`\nPortcullis is gating tool calls (${o.mode} mode), policies from ${o.dir}\n`);
  w(`  forward proxy   export HTTP_PROXY=${o.proxyUrl}`);
  for (const t of o.tools) {
    const route = t.kind === 'mcp' ? `${o.proxyUrl}/mcp/${t.name}` : `${o.proxyUrl}/tools/${t.name}/…`;
    w(`  ${t.kind === 'mcp' ? 'MCP server' : 'HTTP tool '}      ${route.padEnd(44)} → ${t.url}`);
  }
  w(`  admin           ${o.adminUrl}/readyz  /metrics  /v1/approvals`);
  w(`  approvals       portcullis approve ID | portcullis reject ID   (token in ${o.tokenFile})`);
  w(`  approval page   ${o.adminUrl}/approvals/   (sign in with that token, or open ${o.adminUrl}/approvals/#token=$(cat ${o.tokenFile}))`);
  w(`  ledger          ${o.ledger || '(none)'}\n`);
}

/**
 * The policy folder must exist before anything listens. Waiting for it would
 * leave a gate that denies every call with nothing on screen to say why, and a
 * mistyped --policies would never be noticed; refusing at once names the
 * folder and the cause, and `dev` can simply be started again once it exists.
 */
async function requirePolicyDir(dir: string, given: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
    throw new PortcullisError(ErrorCodes.CONFIG, `the policy folder ${given} (${dir}) ${why}: create it, or give another with --policies DIR`, { dir }, { cause: e });
  }
  if (!isDir) throw new PortcullisError(ErrorCodes.CONFIG, `the policy folder ${given} (${dir}) is not a folder: give a folder with --policies DIR`, { dir });
}

/** The login name of this process's user, if the system knows one (a UID without a passwd entry has none). */
function operatorName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

interface DevFlags {
  ledger?: string;
  'no-ledger'?: boolean;
  'token-file'?: string;
  port?: string;
  'admin-port'?: string;
  mode?: string;
  host?: string;
}

/** The flags that override PORTCULLIS_PORT, _ADMIN_PORT, _MODE and the listen hosts, when given. */
function listenOverrides(v: DevFlags): ConfigOverrides {
  return {
    ...(v.port !== undefined ? { port: v.port } : {}),
    ...(v['admin-port'] !== undefined ? { adminPort: v['admin-port'] } : {}),
    ...(v.mode !== undefined ? { mode: v.mode } : {}),
    ...(v.host !== undefined ? { listenHost: v.host, adminHost: v.host } : {}),
  };
}

/** The gate's settings: the environment's, with the folder, the ledger and the flags given. */
async function devConfig(io: CommandIO, v: DevFlags, dir: string): Promise<{ config: Readonly<SidecarConfig>; ledger: string }> {
  const { loadConfig } = await import('../../config/config.ts');
  const { DEFAULT_ADMIN_TOKEN_FILE } = await import('../../sidecar/admin-token.ts');
  const ledger = v['no-ledger'] ? '' : resolve(io.cwd, v.ledger ?? io.env.PORTCULLIS_LEDGER ?? '.portcullis/ledger.jsonl');
  const config = loadConfig(io.env, {
    policiesDir: dir,
    bundleName: io.env.PORTCULLIS_BUNDLE ?? basename(dir),
    ledgerFile: ledger,
    adminTokenFile: resolve(io.cwd, v['token-file'] ?? io.env.PORTCULLIS_ADMIN_TOKEN_FILE ?? DEFAULT_ADMIN_TOKEN_FILE),
    ...listenOverrides(v),
  });
  return { config, ledger };
}

/** One line per (re)load of the policy folder: what is served now, and what a failed load leaves in place. */
function reportLoad(io: CommandIO, o: { bundleName: string; engine: OpaWasmEngine }, r: LoadResult): void {
  if (r.ok) {
    io.stdout.write(`portcullis dev: loaded ${o.bundleName} ${r.bundle.digest} (${r.bundle.compiler}, ${r.bundle.tests.length} tests passed, ${Math.round(r.ms)} ms)\n`);
    return;
  }
  const serving = o.engine.current();
  io.stderr.write(`portcullis dev: ${r.error.code}: ${r.error.message}\n  ${serving ? `still serving ${serving.digest}` : 'no bundle loaded: every call is denied (fail closed) until the policies compile'}\n`);
}

export const command: Command = {
  summary: 'Run the gate locally on a policy folder, with hot reload',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandArgs(io, 'dev', usage, {
      args: argv,
      options: {
        policies: { type: 'string' },
        port: { type: 'string' },
        'admin-port': { type: 'string' },
        mode: { type: 'string' },
        ledger: { type: 'string' },
        'no-ledger': { type: 'boolean' },
        host: { type: 'string' },
        'token-file': { type: 'string' },
      },
    });
    if (typeof parsed === 'number') return parsed;
    const v = parsed.values;
    const dirArg = v.policies ?? io.env.PORTCULLIS_POLICIES;
    if (!dirArg) return usageError(io, 'dev', 'give the policy folder with --policies DIR', usage);
    const dir = resolve(io.cwd, dirArg);
    try {
      await requirePolicyDir(dir, dirArg);
      const { engineOptions } = await import('../../config/config.ts');
      const { OpaWasmEngine } = await import('../../policy/engine.ts');
      const { selectCompiler } = await import('../../policy/compiler.ts');
      const { LocalApprovalBroker } = await import('../../sidecar/local-approvals.ts');
      const { PolicyDirLoader } = await import('../../sidecar/policy-dir-loader.ts');
      const { createTelemetry, startGate, untilSignal } = await import('../../sidecar/serve.ts');
      const { createAdminToken } = await import('../../sidecar/admin-token.ts');
      const { config, ledger } = await devConfig(io, v, dir);
      const telemetry = await createTelemetry(config, io.env, 'dev');
      const engine = new OpaWasmEngine(engineOptions(config));
      // The operator is who `portcullis approve` names by default ($USER): with no
      // PORTCULLIS_APPROVER_GROUPS they answer for every group the policies name.
      const operator = io.env.USER ?? operatorName();
      const localApprovals = new LocalApprovalBroker({ approverGroups: config.approverGroups, operator, policyDigest: () => engine.current()?.digest });
      // A fresh token each start: one left from an earlier run approves nothing.
      const adminToken = await createAdminToken(config.adminTokenFile);
      let compilerPromise: ReturnType<typeof selectCompiler> | undefined;
      const loader = new PolicyDirLoader({
        dir,
        bundleName: config.bundleName,
        engine,
        metrics: telemetry.metrics,
        compiler: () => (compilerPromise ??= selectCompiler(io.env)),
        onResult: (r) => reportLoad(io, { bundleName: config.bundleName, engine }, r),
      });
      // The ports open only once the first compile is over, so a script that
      // waits for the port never meets the 503 of a gate with no policy yet.
      // A folder that does not compile still opens them, failing closed.
      io.stdout.write(`portcullis dev: compiling ${dir} …\n`);
      const first = await loader.load();
      const { loadShippingConfig } = await import('../../config/shipping.ts');
      const gate = await startGate({ config, engine, telemetry, localApprovals, adminToken, shipping: loadShippingConfig(io.env, config) });
      loader.watch();
      printBanner(io, { dir, proxyUrl: gate.proxyUrl, adminUrl: gate.adminUrl, mode: config.mode, ledger, tokenFile: config.adminTokenFile, tools: first.ok ? first.bundle.tools : [] });
      const signal = await untilSignal();
      io.stdout.write(`portcullis dev: ${signal}, stopping\n`);
      await loader.close();
      await gate.close();
      return 0;
    } catch (e) {
      return reportError(io, 'dev', e);
    }
  },
};
