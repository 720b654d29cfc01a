// Package migrations embeds the goose migrations so the binary carries its
// schema; sqlc reads the same files as its schema.
package migrations

import "embed"

//go:embed *.sql
var FS embed.FS
