package portcullis

import rego.v1

test_prod_paths if {
	prod_path("/prod/config.yaml")
	prod_path("/prod")
	not prod_path("/production/x")
	not prod_path("/tmp/prod/x")
}

test_clean_paths if {
	clean_path("/tmp/a.txt")
	not clean_path("tmp/a.txt")
	not clean_path("/tmp/../prod/x")
	not clean_path("//prod/x")
}

test_large_charge_threshold if {
	large_charge(1001)
	not large_charge(1000)
}

test_protocol_methods if {
	protocol_method("initialize")
	protocol_method("notifications/initialized")
	not protocol_method("tools/call")
}
