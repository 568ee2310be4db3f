/** `portcullis eval --bundle FILE|DIR --input FILE [-e ENTRYPOINT]`: one evaluation, printed as JSON. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { Command, CommandIO } from '../command.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';

const usage = `Usage: portcullis eval --bundle FILE|DIR [--input FILE] [-e ENTRYPOINT] [--compiler NAME]

Evaluates a bundle on one input and prints {"result", "defined", "entrypoint",
"digest"} as JSON. A directory is compiled first.

Options:
  -b, --bundle FILE|DIR   a bundle archive (.tar.gz) or a policy directory
  -i, --input FILE        the input document (JSON or YAML; - reads stdin);
                          without it the input is undefined
  -e, --entrypoint PATH   entrypoint to evaluate (default: the bundle's first)
  --compiler NAME         portcullis or opa, for a directory (default: opa
                          when on PATH, else portcullis)`;

export const command: Command = {
  summary: 'Evaluate a bundle on an input and print the result',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandArgs(io, 'eval', usage, {
      args: argv,
      options: {
        bundle: { type: 'string', short: 'b' },
        input: { type: 'string', short: 'i' },
        entrypoint: { type: 'string', short: 'e' },
        compiler: { type: 'string' },
      },
    });
    if (typeof parsed === 'number') return parsed;
    const { bundle: bundlePath, input: inputPath, entrypoint } = parsed.values;
    if (!bundlePath) return usageError(io, 'eval', '--bundle is required', usage);
    try {
      const input = inputPath === undefined ? undefined : await readInput(io, inputPath);
      const { loadBundleFrom } = await import('../../policy/load-bundle.ts');
      const { selectCompiler } = await import('../../policy/compiler.ts');
      const { OpaWasmEngine } = await import('../../policy/engine.ts');
      const bundle = await loadBundleFrom(resolve(io.cwd, bundlePath), {
        compiler: () => selectCompiler(parsed.values.compiler ? { ...io.env, PORTCULLIS_COMPILER: parsed.values.compiler } : io.env),
        ...(entrypoint ? { entrypoints: [entrypoint] } : {}),
      });
      const engine = new OpaWasmEngine();
      await engine.load(bundle);
      const r = engine.evaluate(input, entrypoint);
      const out = { result: r.result ?? null, defined: r.result !== undefined, entrypoint: r.entrypoint, digest: r.digest };
      io.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return 0;
    } catch (e) {
      return reportError(io, 'eval', e);
    }
  },
};

async function readInput(io: CommandIO, path: string): Promise<unknown> {
  let text: string;
  try {
    text = path === '-' ? await readStream(io.stdin ?? process.stdin) : await readFile(resolve(io.cwd, path), 'utf8');
  } catch (e) {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, `cannot read input ${path}: ${(e as Error).message}`);
  }
  // A .json file is held to JSON; stdin has no name to tell, so it is read as
  // the help promises: JSON or YAML. JSON is tried first so that a JSON input
  // means exactly what JSON.parse makes of it, whatever YAML would.
  const jsonOnly = path.endsWith('.json');
  try {
    return jsonOnly ? JSON.parse(text) : parseJsonOrYaml(text);
  } catch (e) {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, `input ${path} is not valid ${jsonOnly ? 'JSON' : 'JSON or YAML'}: ${(e as Error).message}`);
  }
}

function parseJsonOrYaml(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return parseYaml(text);
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
