package http

import (
	"embed"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/swaggest/swgui/v5/static"
	"github.com/vearutop/statigz"
)

// docsPage holds the page of /docs and its start-up script; Swagger UI's
// own files come from the swgui module, which embeds them. Nothing is
// fetched from elsewhere, so the page works offline.
//
//go:embed docspage/index.html docspage/docs.js
var docsPage embed.FS

// docsPolicy lets the page run the scripts and style sheets this server
// serves and nothing else: no inline script, no other host. Swagger UI
// draws some icons from data: URLs and sends its requests to this server.
const docsPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsRoutes serves the OpenAPI document and the interactive docs page.
func (s *server) docsRoutes(r chi.Router) {
	assets := http.StripPrefix("/docs/", statigz.FileServer(static.FS))
	page, _ := fs.ReadFile(docsPage, "docspage/index.html")
	script, _ := fs.ReadFile(docsPage, "docspage/docs.js")

	r.Get("/openapi.yaml", s.openAPIDocument)
	r.Get("/docs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", docsPolicy)
		w.Header().Set("Cache-Control", "no-cache")
		writeBytes(w, page)
	})
	r.Get("/docs/{file}", func(w http.ResponseWriter, r *http.Request) {
		switch name := chi.URLParam(r, "file"); {
		case name == "docs.js":
			w.Header().Set("Content-Type", "application/javascript")
			w.Header().Set("Cache-Control", "no-cache")
			writeBytes(w, script)
		case docsAssetExists(name):
			// A HEAD is served as the GET it mirrors (the HTTP server
			// drops the body), so that both carry the same headers.
			if r.Method == http.MethodHead {
				r = r.Clone(r.Context())
				r.Method = http.MethodGet
			}
			assets.ServeHTTP(w, r)
		default:
			s.notFound(w, r)
		}
	})
}

// docsAssetExists tells whether Swagger UI has a file of that name; some
// are stored compressed and served decompressed when the client asks so.
func docsAssetExists(name string) bool {
	for _, candidate := range []string{name, name + ".gz"} {
		if _, err := fs.Stat(static.FS, candidate); err == nil {
			return true
		}
	}
	return false
}

func (s *server) openAPIDocument(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-cache")
	writeBytes(w, s.cfg.OpenAPI)
}

// writeBytes sends a fixed body with its length, which HEAD then carries
// too.
func writeBytes(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}
