# MCP's own methods are actions too (initialize, tools/list, notifications,
# the server's SSE stream, session end): allowed for the servers in the
# catalog, so that only tool calls need their own rules.
package portcullis

import rego.v1

mcp_servers := {"fs"}

# 2025 revisions: initialize, the server's SSE stream ($sse), session end
# ($delete), replies to server requests ($response). 2026-07-28 (stateless):
# server/discover instead of initialize, subscriptions/listen instead of the
# SSE stream.
protocol_methods := {"initialize", "ping", "tools/list", "$sse", "$delete", "$response", "server/discover", "subscriptions/listen"}

protocol_method(m) if protocol_methods[m]

protocol_method(m) if startswith(m, "notifications/")

allows contains {"effect": "allow", "reason": "MCP protocol message"} if {
	input.action.type == "mcp"
	mcp_servers[input.action.mcp.server]
	protocol_method(input.action.mcp.method)
}
