# The deploy API (`/tools/deploy/…`): an agent's deployment is never run for
# real; it is computed onto the dry-run endpoint, which is allowed.
package portcullis

import rego.v1

dry_run_path := "/v1/dry-run/deployments"

computes contains {
	"effect": "compute",
	"reason": "deployments by agents run as dry runs",
	"rewrite": {"http": {"path": dry_run_path}},
} if {
	http_call("deploy", "POST")
	input.action.http.path == "/v1/deployments"
}

allows contains {"effect": "allow", "reason": "dry-run deployment"} if {
	http_call("deploy", "POST")
	input.action.http.path == dry_run_path
}

allows contains {
	"effect": "allow",
	"reason": "deploy read",
	"constraints": {"maxResponseBytes": data.settings.reads.max_response_bytes},
} if {
	http_call("deploy", "GET")
	startswith(input.action.http.path, "/v1/deployments")
}
