/** `portcullis ledger-keygen --out DIR`: an ed25519 key pair for signing ledger heads. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command, CommandIO } from '../command.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';

const usage = `Usage: portcullis ledger-keygen [--out DIR] [--name NAME]

Writes an ed25519 key pair for signing ledger heads: NAME.key (private, mode
0600: give it to the process that writes the ledger) and NAME.pub (public:
give it to whoever verifies, \`portcullis verify --public-key NAME.pub\`).
Existing files are never overwritten.

Options:
  --out DIR    where to write (default: the current directory)
  --name NAME  file name stem (default: ledger-signing)`;

export const command: Command = {
  summary: 'Generate an ed25519 key pair for signing ledger heads',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandArgs(io, 'ledger-keygen', usage, { args: argv, options: { out: { type: 'string' }, name: { type: 'string' } } });
    if (typeof parsed === 'number') return parsed;
    const dir = resolve(io.cwd, parsed.values.out ?? '.');
    const name = parsed.values.name ?? 'ledger-signing';
    if (!/^[A-Za-z0-9._-]+$/.test(name)) return usageError(io, 'ledger-keygen', `--name "${name}" must be a plain file name`, usage);
    try {
      const { generateSigningKeys } = await import('../../evidence/signing.ts');
      const keys = generateSigningKeys();
      await mkdir(dir, { recursive: true });
      const priv = join(dir, `${name}.key`);
      const pub = join(dir, `${name}.pub`);
      await writeFile(priv, keys.privateKeyPem, { mode: 0o600, flag: 'wx' });
      await writeFile(pub, keys.publicKeyPem, { mode: 0o644, flag: 'wx' });
      io.stdout.write(`private key ${priv}\npublic key  ${pub}\nkey ID      ${keys.keyId}\n`);
      return 0;
    } catch (e) {
      return reportError(io, 'ledger-keygen', e);
    }
  },
};
