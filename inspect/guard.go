package inspect

import (
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Guard protects the UI listener from other web pages and other hosts: it
// refuses a request whose Host is not a loopback name, "localhost" or one of
// extraHosts (DNS rebinding), a state-changing request or websocket whose
// Origin is not the listener's own (CSRF, cross-site websocket hijacking),
// any API request a browser says comes from another site or origin (a page
// cannot read the answers, but it can time them), a state-changing request
// with a body that is not JSON, and an API request whose query string does
// not parse. An extra host
// "*" accepts any Host (for a UI behind --auth, reached by its LAN address).
func Guard(log *slog.Logger, extraHosts []string, next http.Handler) http.Handler {
	return guard(log, extraHosts, 5*time.Second, next)
}

// guard is Guard with the period at which each refusal message is logged
// (a test sends its refusals well within one, however slow the machine).
func guard(log *slog.Logger, extraHosts []string, logPeriod time.Duration, next http.Handler) http.Handler {
	hostOK := localHost(extraHosts)
	// A page in a browser can send these as fast as it likes.
	hostLog, originLog := NewLogLimit(logPeriod), NewLogLimit(logPeriod)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostOK(r.Host) {
			hostLog.Log(log, slog.LevelWarn, "refused request: Host not allowed", "host", r.Host, "path", r.URL.Path, "remote", r.RemoteAddr)
			msg := fmt.Sprintf("Host %q is not allowed: use localhost or 127.0.0.1 (see --allow-host)", r.Host)
			if r.Host == "" {
				msg = "a request without a Host is not allowed: send Host: localhost or 127.0.0.1 (see --allow-host)"
			}
			WriteJSON(w, http.StatusForbidden, map[string]string{"error": msg})
			return
		}
		upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
		unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
		// A page of another site cannot read the API's answers, but it
		// can time them: /api/exchanges/wait?q=... answers at once on a
		// match and waits otherwise, an oracle over every captured
		// header and body (XS-Search). Browsers say where a request
		// comes from; only the UI's own pages (and non-browsers) may
		// call the API, whatever the method.
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/healthz" {
			site := r.Header.Get("Sec-Fetch-Site")
			if o := r.Header.Get("Origin"); site == "" && !unsafe && !upgrade && o != "" && foreign(o, r.Host) { // a browser without Sec-Fetch-*, in cors mode
				site = "cross-origin"
			}
			if site != "" && site != "same-origin" && site != "none" {
				originLog.Log(log, slog.LevelWarn, "refused request: cross-site", "sec_fetch_site", site, "host", r.Host, "path", r.URL.Path)
				WriteJSON(w, http.StatusForbidden, map[string]string{"error": "requests from other sites may not use this API"})
				return
			}
		}
		if origin := r.Header.Get("Origin"); origin != "" && (unsafe || upgrade) {
			if foreign(origin, r.Host) {
				originLog.Log(log, slog.LevelWarn, "refused request: cross-origin", "origin", origin, "host", r.Host, "path", r.URL.Path)
				WriteJSON(w, http.StatusForbidden, map[string]string{"error": "Origin " + origin + " may not use this API"})
				return
			}
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			// url.Values drops the pairs it cannot read, so that
			// "DELETE /api/exchanges?bin=stripe%" would read as no bin
			// at all: clear every bin. Refused instead.
			if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
				WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed query string: " + err.Error() + " (write % as %25, ; as %3B)"})
				return
			}
		}
		if unsafe && (r.ContentLength > 0 || len(r.TransferEncoding) > 0) {
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt != "application/json" {
				WriteJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "Content-Type must be application/json"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// localHost returns a check of a Host header (host or host:port): true for
// a loopback address, "localhost", a name under .localhost and the
// extraHosts ("*": any). A name that resolves to 127.0.0.1 by DNS, as a
// rebinding page's does, is none of these.
func localHost(extraHosts []string) func(hostport string) bool {
	allowed := map[string]bool{"localhost": true}
	for _, h := range extraHosts {
		allowed[strings.ToLower(h)] = true
	}
	return func(hostport string) bool {
		host := hostport
		if h, _, err := net.SplitHostPort(hostport); err == nil {
			host = h
		}
		host = strings.ToLower(strings.Trim(host, "[]"))
		if allowed["*"] || allowed[host] || strings.HasSuffix(host, ".localhost") {
			return true
		}
		ip := net.ParseIP(host)
		return ip != nil && (ip.IsLoopback() || allowed[ip.String()])
	}
}

// HostGuard refuses, with a 403 that says why, a request whose Host is not
// a loopback address, "localhost" or one of extraHosts, as Guard does for
// the UI: what a listener on loopback passes on (a reverse proxy adds the
// upstream's credentials) must not be reachable by a web page that rebinds
// its own name to 127.0.0.1. A request without a Host (HTTP/1.0) passes:
// a browser always sends one. what names the listener in the message.
func HostGuard(log *slog.Logger, extraHosts []string, what string, next http.Handler) http.Handler {
	hostOK := localHost(extraHosts)
	hostLog := NewLogLimit(5 * time.Second)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "" && !hostOK(r.Host) {
			hostLog.Log(log, slog.LevelWarn, "refused request: Host not allowed", "host", r.Host, "path", r.URL.Path, "remote", r.RemoteAddr)
			name := r.Host
			if h, _, err := net.SplitHostPort(name); err == nil {
				name = h
			}
			WriteJSON(w, http.StatusForbidden, map[string]string{"error": fmt.Sprintf(
				"%s: Host %q is not allowed: reach it as localhost or 127.0.0.1, or start hooklab with --allow-host %s (a web page can make its own name point at 127.0.0.1)",
				what, r.Host, strings.Trim(name, "[]"))})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SameOrigin reports whether r's Origin is absent (not a browser) or the
// listener's own, reached as r.Host: the check of a websocket upgrade.
func SameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || !foreign(o, r.Host)
}

// foreign reports whether origin (an Origin header) is not the listener's
// own, reached as host.
func foreign(origin, host string) bool {
	u, err := url.Parse(origin)
	return err != nil || !strings.EqualFold(u.Host, host)
}
