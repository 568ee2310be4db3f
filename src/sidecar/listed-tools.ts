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

export class ListedTools {
  readonly #byServer = new Map<string, Map<string, string>>();
  /** Undefined for a tool listed with an invalid declaration. */
  readonly #paramHeaders = new Map<string, Map<string, readonly ParamHeaderDeclaration[] | undefined>>();

  record(server: string, name: string, hash: string): void {
    let tools = this.#byServer.get(server);
    if (!tools) this.#byServer.set(server, (tools = new Map()));
    if (tools.size >= MAX_TOOLS_PER_SERVER && !tools.has(name)) return;
    tools.set(name, hash);
  }

  hash(server: string, name: string): string | undefined {
    return this.#byServer.get(server)?.get(name);
  }

  recordParamHeaders(server: string, name: string, declarations: readonly ParamHeaderDeclaration[] | undefined): void {
    let tools = this.#paramHeaders.get(server);
    if (!tools) this.#paramHeaders.set(server, (tools = new Map()));
    if (tools.size >= MAX_TOOLS_PER_SERVER && !tools.has(name)) return;
    tools.set(name, declarations);
  }

  /** The `Mcp-Param-*` headers the tool declared when last listed; undefined when never listed, or invalid. */
  paramHeaders(server: string, name: string): readonly ParamHeaderDeclaration[] | undefined {
    return this.#paramHeaders.get(server)?.get(name);
  }
}
