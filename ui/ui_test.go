package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func getAsset(t *testing.T, h http.Handler, target string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func assetBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAssetsServesEmbeddedFiles(t *testing.T) {
	t.Parallel()
	h := Assets("")
	tests := []struct {
		name, target string
		status       int
		ctype        string
		contains     string
	}{
		{"index at root", "/", http.StatusOK, "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"entry module", "/app.js", http.StatusOK, "text/javascript; charset=utf-8", "import"},
		{"module", "/api.js", http.StatusOK, "text/javascript; charset=utf-8", "/api/exchanges"},
		{"stylesheet", "/style.css", http.StatusOK, "text/css; charset=utf-8", "prefers-color-scheme: dark"},
		{"icon", "/favicon.svg", http.StatusOK, "image/svg+xml", "<svg"},
		{"index by name redirects to root", "/index.html", http.StatusMovedPermanently, "", ""},
		{"missing file", "/nope.js", http.StatusNotFound, "text/plain; charset=utf-8", ""},
		{"no escape from the embed", "/../ui.go", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := getAsset(t, h, tt.target)
			body := assetBody(t, res)
			if res.StatusCode != tt.status {
				t.Fatalf("GET %s: status %d, want %d; body %.200q", tt.target, res.StatusCode, tt.status, body)
			}
			if tt.ctype != "" {
				if got := res.Header.Get("Content-Type"); got != tt.ctype {
					t.Errorf("GET %s: Content-Type %q, want %q", tt.target, got, tt.ctype)
				}
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("GET %s: body does not contain %q", tt.target, tt.contains)
			}
			if tt.status == http.StatusMovedPermanently {
				if loc := res.Header.Get("Location"); loc != "./" {
					t.Errorf("GET %s: Location %q, want ./", tt.target, loc)
				}
			}
		})
	}
}

func TestAssetsHeaders(t *testing.T) {
	t.Parallel()
	res := getAsset(t, Assets(""), "/")
	for name, want := range map[string]string{
		"Cache-Control":          "no-cache",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy %q allows inline script or eval", csp)
	}
}

func TestAssetsETagRevalidation(t *testing.T) {
	t.Parallel()
	h := Assets("")
	for _, p := range []string{"/", "/app.js", "/style.css"} {
		res := getAsset(t, h, p)
		tag := res.Header.Get("ETag")
		if res.StatusCode != http.StatusOK || tag == "" {
			t.Fatalf("GET %s: status %d, ETag %q; want 200 with an ETag", p, res.StatusCode, tag)
		}
		again := getAsset(t, h, p, "If-None-Match", tag)
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match %s: status %d, want 304", p, tag, again.StatusCode)
		}
	}
	a, b := getAsset(t, h, "/app.js").Header.Get("ETag"), getAsset(t, h, "/api.js").Header.Get("ETag")
	if a == b {
		t.Errorf("app.js and api.js share the ETag %s", a)
	}
}

func TestServeFSMapFS(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"index.html":   {Data: []byte(`<!doctype html><script type="module" src="m.mjs"></script>`)},
		"m.mjs":        {Data: []byte(`export const x = 1;`)},
		"sub/page.css": {Data: []byte(`body{}`)},
		"blob.bin":     {Data: []byte{0, 1, 2, 3}},
	}
	h := serveFS(fsys, etags(fsys))
	tests := []struct{ target, ctype string }{
		{"/", "text/html; charset=utf-8"},
		{"/m.mjs", "text/javascript; charset=utf-8"},
		{"/sub/page.css", "text/css; charset=utf-8"},
		{"/blob.bin", "application/octet-stream"}, // sniffed
	}
	for _, tt := range tests {
		res := getAsset(t, h, tt.target)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", tt.target, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != tt.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.target, got, tt.ctype)
		}
		if res.Header.Get("ETag") == "" {
			t.Errorf("GET %s: no ETag", tt.target)
		}
	}
	if got := len(etags(fsys)); got != len(fsys) {
		t.Errorf("etags has %d entries, want one per file (%d)", got, len(fsys))
	}
}

func TestAssetsDevDirServesFromDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", "<p>one</p>")
	write("app.js", "console.log(1)")
	h := Assets(dir)

	if body := assetBody(t, getAsset(t, h, "/")); body != "<p>one</p>" {
		t.Fatalf("GET /: %q, want the file on disk", body)
	}
	write("index.html", "<p>two</p>")
	res := getAsset(t, h, "/")
	if body := assetBody(t, res); body != "<p>two</p>" {
		t.Errorf("GET / after an edit: %q, want the edited file", body)
	}
	if res.Header.Get("ETag") != "" {
		t.Errorf("dev files carry an ETag %q; edits would be hidden", res.Header.Get("ETag"))
	}
	if got := getAsset(t, h, "/app.js").Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("GET /app.js: Content-Type %q", got)
	}
}

// TestModuleGraphIsEmbedded follows index.html's references and every
// module's imports, and checks that each one is in the embed: a typo in an
// import would otherwise only show as a blank page.
func TestModuleGraphIsEmbedded(t *testing.T) {
	t.Parallel()
	var (
		// htmlRefs finds the src and href attributes of index.html.
		htmlRefs = regexp.MustCompile(`(?:src|href)="([^"]*)"`)
		// jsImports finds static and dynamic module specifiers.
		jsImports = regexp.MustCompile(`(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]`)
		// external finds absolute URLs where the page would fetch them.
		external = regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:https?:)?//|(?:\bfrom|\bimport)\s*\(?\s*['"](?:https?:)?//`)
	)
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		t.Fatal(err)
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var queue []string
	add := func(from, ref string) {
		if ref == "" || strings.HasPrefix(ref, "#") || ref == "./" {
			return
		}
		if strings.Contains(ref, "://") || strings.HasPrefix(ref, "//") {
			t.Errorf("%s references %q: the UI must make no external requests", from, ref)
			return
		}
		if !strings.HasPrefix(ref, "./") && !strings.HasPrefix(ref, "../") && !strings.HasPrefix(ref, "/") && path.Ext(from) == ".js" {
			t.Errorf("%s imports %q: a bare specifier does not resolve without a build step", from, ref)
			return
		}
		p := path.Clean(path.Join(path.Dir(from), strings.TrimPrefix(ref, "/")))
		if !seen[p] {
			seen[p] = true
			queue = append(queue, p)
		}
	}
	for _, m := range htmlRefs.FindAllStringSubmatch(string(index), -1) {
		add("index.html", m[1])
	}
	if !seen["app.js"] || !seen["style.css"] {
		t.Fatalf("index.html does not load app.js and style.css; it references %v", seen)
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			t.Errorf("referenced file %s is not embedded: %v", p, err)
			continue
		}
		if path.Ext(p) == ".js" {
			for _, m := range jsImports.FindAllStringSubmatch(string(b), -1) {
				add(p, m[1])
			}
		}
	}

	// Every module is reachable from the page (no dead files), and no file
	// asks the browser to fetch anything from elsewhere.
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if path.Ext(p) == ".js" && !seen[p] {
			t.Errorf("module %s is embedded but never imported", p)
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		if loc := external.FindIndex(b); loc != nil {
			t.Errorf("%s loads from another origin: %q", p, b[loc[0]:min(loc[1]+40, len(b))])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoUnsafeHTMLSinks keeps captured payloads from ever being parsed as
// HTML: the UI builds DOM with text nodes and attributes only.
func TestNoUnsafeHTMLSinks(t *testing.T) {
	t.Parallel()
	sinks := regexp.MustCompile(`\.(?:innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|\beval\(|new Function\(`)
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		b, err := fs.ReadFile(embedded, p)
		if err != nil {
			return err
		}
		for _, loc := range sinks.FindAllIndex(b, -1) {
			t.Errorf("%s uses %q; build DOM with dom.js's h() instead", p, b[loc[0]:loc[1]])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDOMHooks pins the ids and classes that the browser tests and users'
// own scripts rely on.
func TestDOMHooks(t *testing.T) {
	t.Parallel()
	index, err := fs.ReadFile(embedded, "assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	list, err := fs.ReadFile(embedded, "assets/list.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, hook := range []string{`id="exchanges"`, `id="detail"`, `id="conn"`, `data-state="closed"`, `id="bin-filter"`, `id="rules-error"`} {
		if !strings.Contains(string(index), hook) {
			t.Errorf("index.html lacks %s", hook)
		}
	}
	if !strings.Contains(string(list), `'exchange-row`) || !strings.Contains(string(list), "tr.dataset.id = s.id") {
		t.Errorf("list.js no longer renders rows as tr.exchange-row[data-id]")
	}
}

// TestAssetsOddPathsNotFound: a path that is not UTF-8 or holds a NUL
// names no file, embedded or on disk: 404, not 500.
func TestAssetsOddPathsNotFound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>dev</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, dir string }{{"embedded", ""}, {"dev dir", dir}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(Assets(tt.dir))
			t.Cleanup(srv.Close)
			for _, target := range []string{"/%ff", "/%c0%af", "/app.js%ff", "/sub/%ff/x.js", "/%00", "/app.js%00"} {
				res, err := http.Get(srv.URL + target)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusNotFound {
					t.Errorf("GET %s: status %d, want 404", target, res.StatusCode)
				}
			}
		})
	}
}
