# The payments API (`/tools/payments/…`): charges up to the threshold are
# allowed; above it a human must approve, after which the same call is
# allowed. Listing charges is a read: allowed, size-limited, card numbers
# removed from the response.
package portcullis

import rego.v1

charge_amount := input.action.http.body.amount

# Rego orders values by type first (null < booleans < numbers < strings <
# …), so only a number lies strictly between `true` and "".
amount_is_number if {
	charge_amount > true
	charge_amount < ""
}

large_charge(amount) if amount > data.settings.payments.escalate_above

creating_charge if {
	http_call("payments", "POST")
	input.action.http.path == "/v1/charges"
	amount_is_number
}

allows contains {"effect": "allow", "reason": "charge within the limit", "constraints": {"timeoutMs": 10000}} if {
	creating_charge
	not large_charge(charge_amount)
}

escalations contains {
	"effect": "escalate",
	"reason": "charges above the approval threshold need a human's approval",
	"escalation": {"approvers": ["group:payments"], "timeoutSeconds": data.settings.payments.approval_timeout_seconds},
} if {
	creating_charge
	large_charge(charge_amount)
	not approved
}

allows contains {"effect": "allow", "reason": "large charge approved", "constraints": {"timeoutMs": 10000}} if {
	creating_charge
	large_charge(charge_amount)
	approved
}

allows contains {
	"effect": "allow",
	"reason": "payments read",
	"constraints": {
		"maxResponseBytes": data.settings.reads.max_response_bytes,
		"redact": ["$.charges[*].card.number"],
	},
} if {
	http_call("payments", "GET")
	startswith(input.action.http.path, "/v1/charges")
}
