package har

import (
	"github.com/hooklab/hooklab/inspect"
)

// Redacted replaces a secret value in exports: inspect.Redacted.
const Redacted = inspect.Redacted

// IsSecret reports whether a header of this name holds a secret; it is
// inspect.IsSecretHeader, kept here for callers of this package.
func IsSecret(name string, extra []string) bool { return inspect.IsSecretHeader(name, extra) }

// RedactHeaders returns h with the values of secret headers (IsSecret)
// replaced, and the names it redacted as received; it is
// inspect.RedactHeaders. h itself is not changed.
func RedactHeaders(h inspect.Headers, extra []string) (inspect.Headers, []string) {
	return inspect.RedactHeaders(h, extra)
}

// redactURL replaces the password of a URL's user info.
func redactURL(raw string) string { return inspect.RedactURL(raw) }
