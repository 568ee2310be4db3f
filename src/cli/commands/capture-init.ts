/**
 * `portcullis capture-init`: the init step of an injected pod. Installs the
 * capture rules (src/capture/nft-rules.ts) in the pod's network namespace and
 * reads them back; a pod whose rules could not be installed does not start.
 */
import { readFile } from 'node:fs/promises';
import type { Command, CommandIO } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { reportError } from './policy-cli.ts';
import type { CaptureConfig } from '../../config/capture.ts';
import type { CaptureRuleSet } from '../../capture/nft-rules.ts';

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
      const { renderNftScript } = await import('../../capture/nft-rules.ts');
      const { ruleInputFor } = await import('../../capture/rule-input.ts');
      const { applyRuleSet, verifyRuleSet } = await import('../../capture/nft-apply.ts');
      const config = readCaptureConfig(io.env);
      const resolvers = config.dnsResolvers.length === 0 ? await systemResolvers(parsed.values['resolv-conf'] ?? '/etc/resolv.conf') : [];
      const set = await ruleSetFor(config, resolvers);
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

/** The pod's resolvers from its resolv.conf, when PORTCULLIS_CAPTURE_DNS names none. */
async function systemResolvers(file: string): Promise<string[]> {
  const { ErrorCodes, PortcullisError } = await import('../../errors.ts');
  const { nameserversOf } = await import('../../capture/rule-input.ts');
  const resolvers = nameserversOf(await readFile(file, 'utf8').catch(() => ''));
  // No resolver means no DNS at all for the agent: refuse rather than install a pod that cannot resolve.
  if (resolvers.length === 0) {
    throw new PortcullisError(ErrorCodes.CAPTURE, `no nameserver in ${file}: set PORTCULLIS_CAPTURE_DNS to the pod's resolvers`, { setting: 'PORTCULLIS_CAPTURE_DNS' });
  }
  return resolvers;
}

/** The rule set the settings describe; settings that describe none are a configuration error. */
async function ruleSetFor(config: CaptureConfig, resolvers: string[]): Promise<CaptureRuleSet> {
  const { ErrorCodes, PortcullisError } = await import('../../errors.ts');
  const { captureRuleSet } = await import('../../capture/nft-rules.ts');
  const { ruleInputFor } = await import('../../capture/rule-input.ts');
  try {
    return captureRuleSet(ruleInputFor(config, resolvers));
  } catch (e) {
    throw new PortcullisError(ErrorCodes.CONFIG, `the capture settings make no valid rule set: ${(e as Error).message}`, { setting: 'PORTCULLIS_CAPTURE_*' });
  }
}
