/**
 * `portcullis demo-tools`: the upstream tools the shipped policies name, on
 * the loopback ports of policies/portcullis.yaml, so the local walk-through
 * needs nothing else.
 */
import type { Command, CommandIO } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { reportError } from './policy-cli.ts';

const usage = `Usage: portcullis demo-tools [--fs-port N] [--payments-port N] [--deploy-port N] [--json-responses]

Serves, on 127.0.0.1:
  fs        an MCP filesystem server over Streamable HTTP (in memory)   default port 7080, path /mcp
  payments  an HTTP payments API (GET/POST /v1/charges)                 default port 7081
  deploy    an HTTP deploy API (/v1/deployments, /v1/dry-run/deployments) default port 7082
Each logs the calls that reach it, so you can see what the gate let through.`;

export const command: Command = {
  summary: 'Serve the demo tools the shipped policies route to',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsedArgs = parseCommandArgs(io, 'demo-tools', usage, {
      args: argv,
      options: { 'fs-port': { type: 'string' }, 'payments-port': { type: 'string' }, 'deploy-port': { type: 'string' }, 'json-responses': { type: 'boolean' } },
    });
    if (typeof parsedArgs === 'number') return parsedArgs;
    const v = parsedArgs.values;
    try {
      const { startDemoFsServer } = await import('../../demo/fs-mcp-server.ts');
      const { startPaymentsApi, startDeployApi } = await import('../../demo/http-apis.ts');
      const { untilSignal } = await import('../../sidecar/serve.ts');
      const port = (s: string | undefined, d: number): number => (s === undefined ? d : Number(s));
      const fs = await startDemoFsServer(port(v['fs-port'], 7080), '127.0.0.1', v['json-responses'] ?? false);
      const payments = await startPaymentsApi(port(v['payments-port'], 7081));
      const deploy = await startDeployApi(port(v['deploy-port'], 7082));
      const logCalls = (name: string, log: { method: string; url: string; body: string }[]): void => {
        const push = log.push.bind(log);
        log.push = (...items) => {
          for (const a of items) io.stdout.write(`[${name}] ${a.method} ${a.url} ${a.body.slice(0, 200)}\n`);
          return push(...items);
        };
      };
      logCalls('payments', payments.log);
      logCalls('deploy', deploy.log);
      const pushCall = fs.calls.push.bind(fs.calls);
      fs.calls.push = (...items) => {
        for (const c of items) io.stdout.write(`[fs] tools/call ${c.name} ${JSON.stringify(c.arguments)}\n`);
        return pushCall(...items);
      };
      io.stdout.write(`demo tools:\n  fs (MCP)   ${fs.url}\n  payments   ${payments.url}\n  deploy     ${deploy.url}\n`);
      await untilSignal();
      await Promise.all([fs.close(), payments.close(), deploy.close()]);
      return 0;
    } catch (e) {
      return reportError(io, 'demo-tools', e);
    }
  },
};
