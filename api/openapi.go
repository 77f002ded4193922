package api

import _ "embed"

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPIDocument returns the OpenAPI 3 document of the API (served at
// /api/v1/openapi.json). The caller must not modify it.
func OpenAPIDocument() []byte { return openAPIDoc }
