# The filesystem MCP server `fs`: reads are allowed with a response-size
# limit; writes are allowed except under /prod/. Paths must be plain absolute
# paths, so `/tmp/../prod/x` cannot pass for a path outside /prod/.
package portcullis

import rego.v1

fs_read_tools := {"read_file", "list_directory"}

fs_write_tools := {"write_file", "delete_file"}

fs_path := object.get(input.action.mcp.arguments, "path", "")

clean_path(p) if {
	startswith(p, "/")
	not contains(p, "..")
	not contains(p, "//")
	not contains(p, "\\")
}

prod_path(p) if startswith(p, "/prod/")

prod_path(p) if p == "/prod"

deny_reasons contains "filesystem paths must be absolute, without '..', '//' or backslashes" if {
	mcp_call("fs")
	not clean_path(fs_path)
}

deny_reasons contains "writes to /prod/ through the filesystem tool are denied" if {
	mcp_call("fs")
	fs_write_tools[input.action.mcp.name]
	prod_path(fs_path)
}

allows contains {
	"effect": "allow",
	"reason": "filesystem read",
	"constraints": {"maxResponseBytes": data.settings.reads.max_response_bytes},
} if {
	mcp_call("fs")
	fs_read_tools[input.action.mcp.name]
	clean_path(fs_path)
}

allows contains {"effect": "allow", "reason": "filesystem write outside /prod/"} if {
	mcp_call("fs")
	fs_write_tools[input.action.mcp.name]
	clean_path(fs_path)
	not prod_path(fs_path)
}
