package rules

import _ "embed"

//go:embed schema.json
var schema string

// Schema returns a JSON Schema (draft 2020-12) of the config file, for
// editors (`hooklab schema`).
func Schema() []byte {
	return []byte(schema)
}
