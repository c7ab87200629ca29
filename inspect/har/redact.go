package har

import (
	"net/url"
	"strings"

	"github.com/hooklab/hooklab/inspect"
)

// Redacted replaces a secret value in exports (the same word the config
// printer uses).
const Redacted = "REDACTED"

// IsSecret reports whether a header of this name holds a secret:
// Authorization, Proxy-Authorization, Cookie, Set-Cookie, any of extra
// (compared without case), or a name with a part (split at "-" and "_")
// that is token, secret, password, passwd, credential(s), auth, session,
// apikey, or the pair api key / access key / secret key / private key /
// subscription key (X-Api-Key, X-Auth-Token, X-Amz-Security-Token,
// Ocp-Apim-Subscription-Key). WWW-Authenticate and signature headers are
// not secrets.
func IsSecret(name string, extra []string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	if containsFold(extra, name) {
		return true
	}
	parts := strings.FieldsFunc(n, func(r rune) bool { return r == '-' || r == '_' })
	for i, p := range parts {
		switch p {
		case "token", "secret", "password", "passwd", "credential", "credentials", "auth", "session", "apikey", "sessionid":
			return true
		case "key":
			if i > 0 {
				switch parts[i-1] {
				case "api", "access", "secret", "private", "subscription":
					return true
				}
			}
		}
	}
	return false
}

// RedactHeaders returns h with the values of secret headers (IsSecret)
// replaced, and the names it redacted. Cookie values are redacted one by
// one and Set-Cookie keeps its attributes, so names stay readable:
// "Cookie: a=REDACTED; b=REDACTED". h itself is not changed.
func RedactHeaders(h inspect.Headers, extra []string) (inspect.Headers, []string) {
	var out inspect.Headers
	var names []string
	for i, x := range h {
		if !IsSecret(x.Name, extra) {
			continue
		}
		if out == nil {
			out = append(inspect.Headers(nil), h...)
		}
		switch strings.ToLower(x.Name) {
		case "cookie":
			var parts []string
			for _, c := range strings.Split(x.Value, ";") {
				name, _, _ := strings.Cut(strings.TrimSpace(c), "=")
				if name != "" {
					parts = append(parts, name+"="+Redacted)
				}
			}
			out[i].Value = strings.Join(parts, "; ")
		case "set-cookie":
			first, attrs, hasAttrs := strings.Cut(x.Value, ";")
			name, _, _ := strings.Cut(first, "=")
			out[i].Value = strings.TrimSpace(name) + "=" + Redacted
			if hasAttrs {
				out[i].Value += ";" + attrs
			}
		default:
			out[i].Value = Redacted
		}
		if !containsFold(names, x.Name) {
			names = append(names, x.Name)
		}
	}
	if out == nil {
		return h, nil
	}
	return out, names
}

// redactURL replaces the password of a URL's user info.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	u.User = url.UserPassword(u.User.Username(), Redacted)
	return u.String()
}
