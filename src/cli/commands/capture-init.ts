/**
 * `portcullis capture-init`: the init step of an injected pod. Installs the
 * capture rules (src/capture/nft-rules.ts) in the pod's network namespace and
 * reads them back; a pod whose rules could not be installed does not start.
 */
import { readFile } from 'node:fs/promises';
import type { Command, CommandIO } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { reportError } from './policy-cli.ts';

const usage = `Usage: portcullis capture-init [--print] [--resolv-conf FILE]

Installs the nftables rules that send every TCP connection of the pod (but
the sidecar's, PORTCULLIS_CAPTURE_SIDECAR_UID) to the sidecar's capture
listeners, refuse other TCP and drop other protocols but DNS, then checks
that the kernel holds them. Needs NET_ADMIN in the pod's network namespace.
Settings: PORTCULLIS_CAPTURE_HTTP_PORTS, PORTCULLIS_CAPTURE_TLS_PORTS,
PORTCULLIS_CAPTURE_LISTEN_PORT, PORTCULLIS_CAPTURE_PROBE_OFFSET,
PORTCULLIS_CAPTURE_DNS (default: the nameservers of /etc/resolv.conf),
PORTCULLIS_CAPTURE_EXCLUDE, PORTCULLIS_CAPTURE_SIDECAR_UID.

Options:
  --print             print the nft script and install nothing
  --resolv-conf FILE  where the pod's resolvers are read (default /etc/resolv.conf)`;

export const command: Command = {
  summary: "Install the pod's traffic capture rules (init container)",
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandArgs(io, 'capture-init', usage, {
      args: argv,
      options: { print: { type: 'boolean' }, 'resolv-conf': { type: 'string' } },
    });
    if (typeof parsed === 'number') return parsed;
    try {
      const { readCaptureConfig } = await import('../../config/capture.ts');
      const { ErrorCodes, PortcullisError } = await import('../../errors.ts');
      const { captureRuleSet, renderNftScript } = await import('../../capture/nft-rules.ts');
      const { nameserversOf, ruleInputFor } = await import('../../capture/rule-input.ts');
      const { applyRuleSet, verifyRuleSet } = await import('../../capture/nft-apply.ts');
      const config = readCaptureConfig(io.env);
      let resolvers: string[] = [];
      if (config.dnsResolvers.length === 0) {
        const file = parsed.values['resolv-conf'] ?? '/etc/resolv.conf';
        resolvers = nameserversOf(await readFile(file, 'utf8').catch(() => ''));
        // No resolver means no DNS at all for the agent: refuse rather than install a pod that cannot resolve.
        if (resolvers.length === 0) {
          throw new PortcullisError(ErrorCodes.CAPTURE, `no nameserver in ${file}: set PORTCULLIS_CAPTURE_DNS to the pod's resolvers`, { setting: 'PORTCULLIS_CAPTURE_DNS' });
        }
      }
      let set;
      try {
        set = captureRuleSet(ruleInputFor(config, resolvers));
      } catch (e) {
        throw new PortcullisError(ErrorCodes.CONFIG, `the capture settings make no valid rule set: ${(e as Error).message}`, { setting: 'PORTCULLIS_CAPTURE_*' });
      }
      if (parsed.values.print) {
        io.stdout.write(renderNftScript(set));
        return 0;
      }
      await applyRuleSet(set);
      await verifyRuleSet(set);
      const counts = set.chains.map((c) => `${c.name} ${c.rules.length} rules`).join(', ');
      io.stdout.write(
        `portcullis capture-init: capture rules installed and verified (table inet ${set.table}: ${counts}; HTTP ports ${config.httpPorts.join(',') || 'none'}, TLS ports ${config.tlsPorts.join(',') || 'none'}, DNS ${ruleInputFor(config, resolvers).dnsResolvers.join(',')}, excluded ${config.exclusions.join(',') || 'none'})\n`,
      );
      return 0;
    } catch (e) {
      return reportError(io, 'capture-init', e);
    }
  },
};
