// Package apiclient is a Go client of the API, generated from openapi.yaml
// by oapi-codegen (settings in oapi-codegen.yaml). Never edit
// client.gen.go: change openapi.yaml and run go generate ./internal/apiclient.
package apiclient

//go:generate go tool -modfile=../../tools/go.mod oapi-codegen -config oapi-codegen.yaml ../../openapi.yaml
