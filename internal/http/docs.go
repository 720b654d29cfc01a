package http

import (
	"io/fs"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5/static"
	"github.com/swaggest/swgui/v5emb"
)

// docsRoutes serves the OpenAPI document and the interactive docs page.
// The page is Swagger UI, whose files the swgui module embeds in the
// binary: nothing is fetched from elsewhere, so it works offline.
func (s *server) docsRoutes(r chi.Router) {
	ui := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "Epic Events CRM API",
		SwaggerJSON: "/openapi.yaml",
		BasePath:    "/docs/",
		SettingsUI: map[string]string{
			// Show the schemas section, and keep a pasted token across reloads.
			"defaultModelsExpandDepth": "1",
			"persistAuthorization":     "true",
		},
	})
	r.Get("/openapi.yaml", s.openAPIDocument)
	r.Get("/docs", ui.ServeHTTP)
	r.Get("/docs/{file}", func(w http.ResponseWriter, r *http.Request) {
		if !docsAssetExists(chi.URLParam(r, "file")) {
			s.notFound(w, r)
			return
		}
		// A HEAD is served as the GET it mirrors (the HTTP server drops
		// the body), so that both carry the same headers.
		if r.Method == http.MethodHead {
			r = r.Clone(r.Context())
			r.Method = http.MethodGet
		}
		ui.ServeHTTP(w, r)
	})
}

// docsAssetExists tells whether the page has a file of that name; some are
// stored compressed and served decompressed when the client asks so.
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
	_, _ = w.Write(s.cfg.OpenAPI)
}
