/** `portcullis compile DIR [-e ENTRYPOINT]… [-o bundle.tar.gz]`: a policy directory into a bundle archive. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command, CommandIO } from '../command.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';

const usage = `Usage: portcullis compile DIR [-e ENTRYPOINT]... [-o FILE] [--compiler portcullis|opa]

Compiles the policy directory DIR (*.rego, data.json/data.yaml, portcullis.yaml)
into an OPA-format bundle archive whose revision is the policy digest.

Options:
  -e, --entrypoint PATH   entrypoint to compile, e.g. portcullis/decision
                          (repeatable; default: the manifest's entrypoints)
  -o, --output FILE       where to write the archive (default: bundle.tar.gz)
  --compiler NAME         portcullis or opa (default: opa when on PATH,
                          else portcullis; PORTCULLIS_COMPILER sets it too)`;

export const command: Command = {
  summary: 'Compile a policy directory into a bundle archive',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandArgs(io, 'compile', usage, {
      args: argv,
      allowPositionals: true,
      options: {
        entrypoint: { type: 'string', short: 'e', multiple: true },
        output: { type: 'string', short: 'o' },
        compiler: { type: 'string' },
      },
    });
    if (typeof parsed === 'number') return parsed;
    const [dir, ...extra] = parsed.positionals;
    if (!dir || extra.length > 0) return usageError(io, 'compile', 'give exactly one policy directory', usage);
    try {
      const { readBundleDir } = await import('../../policy/bundle-dir.ts');
      const { selectCompiler } = await import('../../policy/compiler.ts');
      const { writeBundleArchive } = await import('../../policy/bundle-archive.ts');
      const source = await readBundleDir(resolve(io.cwd, dir));
      if (parsed.values.entrypoint?.length) source.entrypoints = parsed.values.entrypoint;
      const env = parsed.values.compiler ? { ...io.env, PORTCULLIS_COMPILER: parsed.values.compiler } : io.env;
      const compiler = await selectCompiler(env);
      const bundle = await compiler.compile(source);
      const output = resolve(io.cwd, parsed.values.output ?? 'bundle.tar.gz');
      await writeFile(output, await writeBundleArchive(bundle));
      io.stdout.write(
        `compiled ${source.modules.length} module(s) with ${bundle.compiler}: ${bundle.entrypoints.join(', ')}\n` +
          `wrote ${output}\ndigest ${bundle.digest}\n`,
      );
      return 0;
    } catch (e) {
      return reportError(io, 'compile', e);
    }
  },
};
