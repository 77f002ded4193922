package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

// static holds the console's assets: its CSS and script, and htmx 2.0.4
// from the npm registry (htmx.org, dist/htmx.min.js) with its licence.
//
//go:embed assets
var static embed.FS

// assets serves the embedded assets under Path/assets/.
func assets() http.Handler {
	sub, err := fs.Sub(static, "assets")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix(Path+"/assets/", http.FileServer(http.FS(sub)))
}
