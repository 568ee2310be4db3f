/**
 * The definition hash of each tool as its MCP server last listed it through
 * this gate: what a `tools/call` is checked against when the catalog pins
 * the server's tools (gate/tool-pin.ts); and the `Mcp-Param-*` headers each
 * declares (gate/mcp-param-headers.ts). Keyed by catalog server, so its size
 * is bounded by the catalog and by a cap per server.
 */
import type { ParamHeaderDeclaration } from '../gate/mcp-param-headers.ts';

/** More tools than any server lists; past it, new names are not remembered (their calls read as unlisted). */
const MAX_TOOLS_PER_SERVER = 4096;

/** What a listing said of one tool. */
interface Listed {
  hash?: string;
  /** Undefined for a tool listed with an invalid declaration. */
  paramHeaders?: readonly ParamHeaderDeclaration[] | undefined;
}

export class ListedTools {
  readonly #byServer = new Map<string, Map<string, Listed>>();

  /** The tool's entry, made on first sight; undefined past the cap (its calls read as unlisted). */
  #entry(server: string, name: string): Listed | undefined {
    let tools = this.#byServer.get(server);
    if (!tools) this.#byServer.set(server, (tools = new Map()));
    let entry = tools.get(name);
    if (!entry && tools.size < MAX_TOOLS_PER_SERVER) tools.set(name, (entry = {}));
    return entry;
  }

  record(server: string, name: string, hash: string): void {
    const entry = this.#entry(server, name);
    if (entry) entry.hash = hash;
  }

  hash(server: string, name: string): string | undefined {
    return this.#byServer.get(server)?.get(name)?.hash;
  }

  recordParamHeaders(server: string, name: string, declarations: readonly ParamHeaderDeclaration[] | undefined): void {
    const entry = this.#entry(server, name);
    if (entry) entry.paramHeaders = declarations;
  }

  /** The `Mcp-Param-*` headers the tool declared when last listed; undefined when never listed, or invalid. */
  paramHeaders(server: string, name: string): readonly ParamHeaderDeclaration[] | undefined {
    return this.#byServer.get(server)?.get(name)?.paramHeaders;
  }
}
