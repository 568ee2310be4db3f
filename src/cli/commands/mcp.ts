/** `portcullis mcp pin URL`: the pins of a live MCP server's tools, for a bundle's catalog. */
import type { Command, CommandIO } from '../command.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';
import { toolDefinitionHash } from '../../gate/tool-pin.ts';
import { ErrorCodes, PortcullisError } from '../../errors.ts';

const usage = `Usage: portcullis mcp pin URL [options]

Lists the tools of the MCP server at URL (Streamable HTTP, e.g.
http://fs-mcp.tools:8080/mcp) and prints each tool's pin: the SHA-256 of the
canonical JSON of its name, description, input schema and annotations. Paste
the output under the server's catalog entry; the gate then hides tools whose
listed definition does not match, and the policy sees action.mcp.pin.
Review the definitions before you pin them: a pin vouches for what the server
says today.

Options:
  --header NAME:VALUE   a request header (repeatable), e.g. an authorization
  --json                print {"pins": {...}, "tools": [...]} instead of YAML`;

function headersOf(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf(':');
    if (i <= 0) throw new PortcullisError(ErrorCodes.CONFIG, `--header ${v}: expected NAME:VALUE`);
    out[v.slice(0, i).trim()] = v.slice(i + 1).trim();
  }
  return out;
}

async function pin(url: URL, headers: Record<string, string>): Promise<{ pins: Record<string, string>; tools: Record<string, unknown>[] }> {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const client = new Client({ name: 'portcullis-mcp-pin', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  try {
    const tools: Record<string, unknown>[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {});
      tools.push(...(page.tools as Record<string, unknown>[]));
      cursor = page.nextCursor;
    } while (cursor);
    const pins: Record<string, string> = {};
    for (const t of tools) pins[String(t.name)] = toolDefinitionHash(t);
    return { pins, tools };
  } finally {
    await client.close();
  }
}

export const command: Command = {
  summary: 'print the pins of a live MCP server\'s tool definitions',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandArgs(io, 'mcp', usage, {
      args: argv,
      allowPositionals: true,
      options: { header: { type: 'string', multiple: true }, json: { type: 'boolean' } },
    });
    if (typeof parsed === 'number') return parsed;
    const [sub, target, ...extra] = parsed.positionals;
    if (sub !== 'pin' || !target || extra.length > 0) return usageError(io, 'mcp', 'expected: mcp pin URL', usage);
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return usageError(io, 'mcp', `${target} is not a URL`, usage);
    }
    try {
      const { pins, tools } = await pin(url, headersOf(parsed.values.header ?? []));
      if (parsed.values.json) {
        io.stdout.write(JSON.stringify({ pins, tools }, null, 2) + '\n');
      } else {
        io.stdout.write(`# ${tools.length} tools of ${url.href}\npins:\n`);
        for (const [name, hash] of Object.entries(pins)) io.stdout.write(`  ${JSON.stringify(name)}: ${hash}\n`);
      }
      return 0;
    } catch (e) {
      return reportError(io, 'mcp', e);
    }
  },
};
