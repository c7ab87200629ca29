// Package ui is hooklab's embedded web UI and its websocket glue.
//
// The UI is plain HTML, CSS and ES modules under assets/, embedded into the
// binary with go:embed and served as they are: there is no build step. The
// page talks only to its own origin: the JSON API under /api and the live
// stream at /api/stream.
package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"unicode/utf8"
)

//go:embed assets
var embedded embed.FS

// contentSecurityPolicy keeps the page to its own origin: no external
// scripts, styles, fonts or connections, no inline script, and no framing by
// other sites. Captured payloads are untrusted, so this is a second line
// behind the page never writing them as HTML.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// assetType fixes the Content-Type of the file kinds the UI uses, so that
// ES modules are served as JavaScript whatever the host's MIME tables say.
// It returns "" for other kinds, which http.FileServerFS then sniffs.
func assetType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	}
	return ""
}

// Assets returns a handler that serves the UI's static files, index.html at
// "/". It is meant to be mounted at the root of the UI listener, beside the
// API under /api.
//
// With devDir empty it serves the copy embedded in the binary, with strong
// ETags so that browsers revalidate cheaply. With devDir set (the path of a
// checkout's ui/assets directory) it serves the files from disk on every
// request, so edits show on reload without rebuilding.
//
// Every response forbids caching without revalidation and carries a
// Content-Security-Policy that confines the page to its own origin.
func Assets(devDir string) http.Handler {
	if devDir != "" {
		return serveFS(os.DirFS(devDir), nil)
	}
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		// Only reachable if the go:embed directive above changes.
		panic(fmt.Sprintf("ui: embedded assets: %v", err))
	}
	return serveFS(sub, etags(sub))
}

// serveFS serves fsys with the UI's headers. tags maps a file's path within
// fsys to its ETag; files without one are served without.
func serveFS(fsys fs.FS, tags map[string]string) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")

		name := r.URL.Path
		// No file has such a name; fs.Sub and os.DirFS would call it
		// invalid, which http.FileServerFS answers 500.
		if !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(name, "/") {
			name += "index.html"
		}
		if ct := assetType(name); ct != "" {
			h.Set("Content-Type", ct)
		}
		if tag, ok := tags[strings.TrimPrefix(path.Clean(name), "/")]; ok {
			h.Set("ETag", tag)
		}
		files.ServeHTTP(w, r)
	})
}

// etags hashes every regular file in fsys. The embedded files never change
// while the process runs, so this is done once, by Assets.
func etags(fsys fs.FS) map[string]string {
	tags := make(map[string]string)
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(b)
		tags[p] = `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
		return nil
	})
	return tags
}
