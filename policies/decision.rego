# The entrypoint `portcullis/decision` (design.md §3). Every concern adds to
# four sets in this package; this module picks one decision from them, in
# order of precedence: deny, escalate, compute, allow. A call no rule
# mentions is denied.
package portcullis

import rego.v1

default decision := {"effect": "deny", "reason": "no rule allows this call; unknown calls are denied by default"}

decision := {"effect": "deny", "reason": concat("; ", deny_reasons)} if count(deny_reasons) > 0

decision := e if {
	count(deny_reasons) == 0
	count(escalations) == 1
	some e in escalations
}

decision := c if {
	count(deny_reasons) == 0
	count(escalations) == 0
	count(computes) == 1
	some c in computes
}

decision := a if {
	count(deny_reasons) == 0
	count(escalations) == 0
	count(computes) == 0
	count(allows) == 1
	some a in allows
}

# Two rules proposing different outcomes of one kind is a policy bug: refuse
# rather than pick one at random.
deny_reasons contains "more than one escalate rule matched this call" if count(escalations) > 1

deny_reasons contains "more than one compute rule matched this call" if count(computes) > 1

deny_reasons contains "more than one allow rule matched this call" if {
	count(escalations) == 0
	count(computes) == 0
	count(allows) > 1
}

# Helpers shared by the concerns.

mcp_call(server) if {
	input.action.type == "mcp"
	input.action.mcp.server == server
	input.action.mcp.method == "tools/call"
}

http_call(tool, method) if {
	input.action.type == "http"
	input.action.tool == tool
	input.action.http.method == method
}

approved if input.context.approval.verdict == "approved"
