// Package epicevents holds what belongs to the repository as a whole: the
// OpenAPI document, embedded so that the server and the tests read the
// same bytes as the file front ends build against.
package epicevents

import _ "embed"

// OpenAPI is openapi.yaml, the API's contract.
//
//go:embed openapi.yaml
var OpenAPI []byte
