package inspect

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// AuthCookie is the cookie the UI keeps the token in.
const AuthCookie = "hooklab_auth"

// Auth requires token on every request: as "Authorization: Bearer TOKEN"
// (the API), or the cookie set when a browser opens any page with
// ?token=TOKEN (the UI asks for it once with a small form). Unauthenticated
// API calls get 401 JSON; pages get the form.
func Auth(token string, next http.Handler) http.Handler {
	ok := func(s string) bool { return subtle.ConstantTimeCompare([]byte(s), []byte(token)) == 1 }
	// The cookie holds a digest of the token: any token fits in a cookie,
	// and the token itself is not stored in the browser.
	sum := sha256.Sum256([]byte("hooklab-auth:" + token))
	cookieValue := hex.EncodeToString(sum[:])
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The scheme's name is case-insensitive (RFC 9110, 11.1).
		if scheme, b, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") && ok(strings.TrimLeft(b, " ")) {
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(AuthCookie); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(cookieValue)) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		if t := r.URL.Query().Get("token"); t != "" && ok(t) && r.Method == http.MethodGet {
			http.SetCookie(w, &http.Cookie{Name: AuthCookie, Value: cookieValue, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			q := r.URL.Query()
			q.Del("token")
			to := homePath(r)
			if len(q) > 0 {
				to += "?" + q.Encode()
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/healthz" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hooklab"`)
			WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "hooklab needs its token: Authorization: Bearer TOKEN (see --auth)"})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
		w.WriteHeader(http.StatusUnauthorized)
		msg := ""
		if r.URL.Query().Get("token") != "" {
			msg = `<p style="color:#b00">That token is not right.</p>`
		}
		_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>hooklab</title>
<body style="font:16px system-ui;margin:4em auto;max-width:28em">
<h1>hooklab</h1><p>This hooklab asks for its token (the value of <code>--auth</code> or <code>HOOKLAB_AUTH</code>).</p>` + msg + `
<form method="get" action="` + html.EscapeString(homePath(r)) + `"><label>Token <input name="token" type="password" autofocus required></label> <button>Open</button></form>`))
	})
}

// homePath is r's path as a path on this server only, never
// //other.host (nor /\other.host, which browsers read as one): where the
// token form sends the token, and where its answer redirects.
func homePath(r *http.Request) string {
	return "/" + strings.TrimLeft(r.URL.EscapedPath(), "/")
}

// CaptureAuth requires token on the capture listener, in an
// X-Hooklab-Token header or a hooklab_token query parameter (senders' own
// Authorization headers are left to them).
func CaptureAuth(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := r.Header.Get("X-Hooklab-Token")
		if t == "" {
			t = r.URL.Query().Get("hooklab_token")
		}
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) != 1 {
			WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "this capture endpoint needs hooklab's token (see --capture-auth): send it in an X-Hooklab-Token header or a hooklab_token query parameter"})
			return
		}
		// The token is hooklab's, not the sender's: it is not recorded,
		// replayed or exported.
		r.Header.Del("X-Hooklab-Token")
		if q := r.URL.Query(); q.Has("hooklab_token") {
			// Only its pairs go: the rest of the query stays as sent
			// (url.Values would sort it, re-encode it and drop what it
			// cannot read), and so does the path.
			r.URL.RawQuery = dropParam(r.URL.RawQuery, "hooklab_token")
			path, _, _ := strings.Cut(r.RequestURI, "?")
			if r.URL.RawQuery != "" {
				path += "?" + r.URL.RawQuery
			}
			r.RequestURI = path
		}
		next.ServeHTTP(w, r)
	})
}

// dropParam is the query rawQuery without the pairs whose name is name,
// the others as they are.
func dropParam(rawQuery, name string) string {
	var kept []string
	for _, pair := range strings.Split(rawQuery, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if u, err := url.QueryUnescape(k); err == nil && u == name {
			continue
		}
		kept = append(kept, pair)
	}
	return strings.Join(kept, "&")
}

// IsLoopback reports whether a listen address binds only the loopback
// interface ("127.0.0.1:8080", "[::1]:0", "localhost:4040").
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// StripAuthCookie removes hooklab's own cookie (AuthCookie) from requests
// to the capture port and the proxies. A browser sends a host's cookies to
// every port of it, so one that opened the UI with --auth would hand the
// token's stand-in to whatever it then sent to capture (recorded, exported)
// or through a proxy (forwarded upstream). Other cookies stay as sent.
func StripAuthCookie(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if lines := r.Header["Cookie"]; slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, AuthCookie) }) {
			kept := lines[:0:0]
			for _, line := range lines {
				if l := dropCookie(line, AuthCookie); l != "" {
					kept = append(kept, l)
				}
			}
			if len(kept) == 0 {
				r.Header.Del("Cookie")
			} else {
				r.Header["Cookie"] = kept
			}
		}
		next.ServeHTTP(w, r)
	})
}

// dropCookie is the Cookie header line without the pairs named name, the
// others as they were written, joined by "; " as RFC 6265 writes them (a
// line without that name is left as it is).
func dropCookie(line, name string) string {
	var kept []string
	dropped := false
	for _, pair := range strings.Split(line, ";") {
		pair = strings.TrimSpace(pair)
		if k, _, _ := strings.Cut(pair, "="); strings.TrimSpace(k) == name {
			dropped = true
			continue
		}
		if pair != "" {
			kept = append(kept, pair)
		}
	}
	if !dropped {
		return line
	}
	return strings.Join(kept, "; ")
}
