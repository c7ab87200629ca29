package rules

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Signature schemes.
const (
	SchemeZendesk          = "zendesk"
	SchemeStandardWebhooks = "standard-webhooks"
	SchemeGitHub           = "github"
	SchemeStripe           = "stripe"
	SchemeSlack            = "slack"
	SchemeShopify          = "shopify"
)

// Schemes lists the signature schemes Verify and Sign know.
func Schemes() []string {
	return []string{SchemeZendesk, SchemeStandardWebhooks, SchemeGitHub, SchemeStripe, SchemeSlack, SchemeShopify}
}

// Headers each scheme reads and writes.
const (
	hdrZendeskSig = "X-Zendesk-Webhook-Signature"
	hdrZendeskTS  = "X-Zendesk-Webhook-Signature-Timestamp"
	hdrSWID       = "Webhook-Id"
	hdrSWTS       = "Webhook-Timestamp"
	hdrSWSig      = "Webhook-Signature"
	hdrSvixID     = "Svix-Id"
	hdrSvixTS     = "Svix-Timestamp"
	hdrSvixSig    = "Svix-Signature"
	hdrGitHubSig  = "X-Hub-Signature-256"
	hdrStripeSig  = "Stripe-Signature"
	hdrSlackSig   = "X-Slack-Signature"
	hdrSlackTS    = "X-Slack-Request-Timestamp"
	hdrShopifySig = "X-Shopify-Hmac-Sha256"
	// hdrShopifyEventsSig is the header of Shopify's event webhooks,
	// which its library reads first.
	hdrShopifyEventsSig = "Shopify-Hmac-Sha256"
)

// Reasons VerifySignature gives for an invalid signature (missing header
// and bad encoding are followed by the header's name).
const (
	ReasonMissingHeader = "missing header"
	ReasonBadEncoding   = "bad encoding"
	ReasonMismatch      = "signature mismatch"
	ReasonStale         = "stale timestamp"
	// ReasonFuture: a signed timestamp further ahead of now than the
	// tolerance (a sender's clock, or a replay signed for later).
	ReasonFuture = "timestamp in the future"
)

// timestampHeader returns the header holding the signed timestamp, or "".
func timestampHeader(scheme string) string {
	switch scheme {
	case SchemeZendesk:
		return hdrZendeskTS
	case SchemeStandardWebhooks:
		return hdrSWTS
	case SchemeSlack:
		return hdrSlackTS
	}
	return ""
}

// Check verifies the signature of a request this rule matched, reading the
// timestamp from TimestampHeader when it is set. See VerifySignature.
func (v *Verify) Check(h http.Header, body []byte, now time.Time) (ok bool, reason string) {
	std := timestampHeader(v.Scheme)
	if v.TimestampHeader != "" && std != "" {
		h = h.Clone()
		h.Del(std)
		if ts := h.Get(v.TimestampHeader); ts != "" {
			h.Set(std, ts)
		}
	}
	ok, reason = VerifySignature(v.Scheme, string(v.Secret), h, body, now, v.Tolerance)
	if !ok && v.TimestampHeader != "" && std != "" {
		// Name the header the rule reads, not the scheme's own.
		for _, r := range []string{ReasonMissingHeader, ReasonBadEncoding} {
			if rest, found := cutPrefixFold(reason, r+" "+std); found {
				reason = r + " " + v.TimestampHeader + rest
			}
		}
	}
	return ok, reason
}

// cutPrefixFold is strings.CutPrefix with the prefix matched regardless of
// case (the standard-webhooks headers are named in lower case).
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// truncateReason shortens a header value quoted in a reason.
func truncateReason(v string) string {
	const limit = 40
	if len(v) <= limit {
		return v
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "…"
}

// VerifySignature checks that body and headers h carry a valid signature
// under scheme with secret. Timestamped schemes (zendesk,
// standard-webhooks, stripe, slack) also require the signed timestamp to be
// within tolerance of now (DefaultTolerance when tolerance is 0). When ok is
// false, reason is one of "missing header <name>", "bad encoding <name>:
// want <form>" (the signature or timestamp header that cannot be read, and
// what it should hold), "signature mismatch", "stale timestamp",
// "timestamp in the future" or "unknown scheme <name>".
// Signatures are compared in constant time.
func VerifySignature(scheme, secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) (ok bool, reason string) {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	missing := func(name string) (bool, string) { return false, ReasonMissingHeader + " " + name }
	// bad names the header that cannot be read and the form it needs;
	// a timestamp's value is quoted, as it is the usual mistake (Unix
	// seconds where RFC 3339 is wanted, or the reverse).
	bad := func(name, want string) (bool, string) {
		return false, ReasonBadEncoding + " " + name + ": want " + want
	}
	badTime := func(name, want, got string) (bool, string) {
		return bad(name, want+", got "+strconv.Quote(truncateReason(got)))
	}
	// unfresh says what is wrong with a signed timestamp: "" when it is
	// within tolerance of now.
	unfresh := func(ts time.Time) string {
		switch d := now.Sub(ts); {
		case d > tolerance:
			return ReasonStale
		case d < -tolerance:
			return ReasonFuture
		}
		return ""
	}
	switch scheme {
	case SchemeZendesk:
		sig, ts := h.Get(hdrZendeskSig), h.Get(hdrZendeskTS)
		if sig == "" {
			return missing(hdrZendeskSig)
		}
		if ts == "" {
			return missing(hdrZendeskTS)
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			return bad(hdrZendeskSig, "base64")
		}
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return badTime(hdrZendeskTS, "RFC 3339 such as 2006-01-02T15:04:05Z", ts)
		}
		if !hmac.Equal(got, mac([]byte(secret), []byte(ts), body)) {
			return false, ReasonMismatch
		}
		if r := unfresh(t); r != "" {
			return false, r
		}
		return true, ""

	case SchemeStandardWebhooks:
		id, ts, sigs := h.Get(hdrSWID), h.Get(hdrSWTS), h.Get(hdrSWSig)
		if id == "" && ts == "" && sigs == "" {
			// Svix, the scheme's first sender, names them svix-*, and
			// its receiver library reads those too.
			id, ts, sigs = h.Get(hdrSvixID), h.Get(hdrSvixTS), h.Get(hdrSvixSig)
		}
		switch {
		case id == "":
			return missing(strings.ToLower(hdrSWID))
		case ts == "":
			return missing(strings.ToLower(hdrSWTS))
		case sigs == "":
			return missing(strings.ToLower(hdrSWSig))
		}
		key, err := standardWebhooksKey(secret)
		if err != nil {
			return false, ReasonBadEncoding + " of the secret: want whsec_ and base64"
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return badTime(strings.ToLower(hdrSWTS), "Unix seconds", ts)
		}
		want := mac(key, []byte(id+"."+ts+"."), body)
		decoded := false
		for _, entry := range strings.Fields(sigs) {
			version, b64, found := strings.Cut(entry, ",")
			if !found || version != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				continue
			}
			decoded = true
			if hmac.Equal(got, want) {
				if r := unfresh(time.Unix(sec, 0)); r != "" {
					return false, r
				}
				return true, ""
			}
		}
		if !decoded {
			return bad(strings.ToLower(hdrSWSig), "v1,<base64> entries separated by spaces")
		}
		return false, ReasonMismatch

	case SchemeGitHub:
		sig := h.Get(hdrGitHubSig)
		if sig == "" {
			return missing(hdrGitHubSig)
		}
		hexSig, found := strings.CutPrefix(sig, "sha256=")
		got, err := hex.DecodeString(hexSig)
		if !found || err != nil {
			return bad(hdrGitHubSig, "sha256=<hex>")
		}
		if !hmac.Equal(got, mac([]byte(secret), body)) {
			return false, ReasonMismatch
		}
		return true, ""

	case SchemeStripe:
		header := h.Get(hdrStripeSig)
		if header == "" {
			return missing(hdrStripeSig)
		}
		var ts string
		var sigs [][]byte
		for _, part := range strings.Split(header, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "t":
				ts = val
			case "v1":
				b, err := hex.DecodeString(val)
				if err != nil {
					continue
				}
				sigs = append(sigs, b)
			}
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || len(sigs) == 0 {
			return bad(hdrStripeSig, "t=<Unix seconds>,v1=<hex>")
		}
		want := mac([]byte(secret), []byte(ts+"."), body)
		for _, got := range sigs {
			if hmac.Equal(got, want) {
				if r := unfresh(time.Unix(sec, 0)); r != "" {
					return false, r
				}
				return true, ""
			}
		}
		return false, ReasonMismatch

	case SchemeSlack:
		sig, ts := h.Get(hdrSlackSig), h.Get(hdrSlackTS)
		if sig == "" {
			return missing(hdrSlackSig)
		}
		if ts == "" {
			return missing(hdrSlackTS)
		}
		hexSig, found := strings.CutPrefix(sig, "v0=")
		got, err := hex.DecodeString(hexSig)
		if !found || err != nil {
			return bad(hdrSlackSig, "v0=<hex>")
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return badTime(hdrSlackTS, "Unix seconds", ts)
		}
		if !hmac.Equal(got, mac([]byte(secret), []byte("v0:"+ts+":"), body)) {
			return false, ReasonMismatch
		}
		if r := unfresh(time.Unix(sec, 0)); r != "" {
			return false, r
		}
		return true, ""

	case SchemeShopify:
		name := hdrShopifyEventsSig
		sig := h.Get(name)
		if sig == "" {
			name = hdrShopifySig
			sig = h.Get(name)
		}
		if sig == "" {
			return missing(hdrShopifySig)
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			return bad(name, "base64")
		}
		if !hmac.Equal(got, mac([]byte(secret), body)) {
			return false, ReasonMismatch
		}
		return true, ""
	}
	return false, "unknown scheme " + scheme
}

// Sign returns the headers that sign body under scheme, as a provider
// would send them. id is the message id (standard-webhooks) and ts the
// signing time. standard-webhooks and stripe sign with every secret (for
// rotation); the others use the first. Zendesk timestamps are RFC 3339 in
// UTC; the others are Unix seconds.
func Sign(scheme string, secrets []string, id string, ts time.Time, body []byte) (http.Header, error) {
	if len(secrets) == 0 || secrets[0] == "" {
		return nil, errors.New("sign: no secret")
	}
	h := http.Header{}
	unix := strconv.FormatInt(ts.Unix(), 10)
	secret := []byte(secrets[0])
	switch scheme {
	case SchemeZendesk:
		stamp := ts.UTC().Format(time.RFC3339)
		h.Set(hdrZendeskTS, stamp)
		h.Set(hdrZendeskSig, base64.StdEncoding.EncodeToString(mac(secret, []byte(stamp), body)))
	case SchemeStandardWebhooks:
		if id == "" {
			return nil, errors.New("sign: standard-webhooks needs a message id")
		}
		var sigs []string
		for _, s := range secrets {
			key, err := standardWebhooksKey(s)
			if err != nil {
				return nil, fmt.Errorf("sign: %w", err)
			}
			sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac(key, []byte(id+"."+unix+"."), body)))
		}
		h.Set(hdrSWID, id)
		h.Set(hdrSWTS, unix)
		h.Set(hdrSWSig, strings.Join(sigs, " "))
	case SchemeGitHub:
		h.Set(hdrGitHubSig, "sha256="+hex.EncodeToString(mac(secret, body)))
	case SchemeStripe:
		parts := []string{"t=" + unix}
		for _, s := range secrets {
			parts = append(parts, "v1="+hex.EncodeToString(mac([]byte(s), []byte(unix+"."), body)))
		}
		h.Set(hdrStripeSig, strings.Join(parts, ","))
	case SchemeSlack:
		h.Set(hdrSlackTS, unix)
		h.Set(hdrSlackSig, "v0="+hex.EncodeToString(mac(secret, []byte("v0:"+unix+":"), body)))
	case SchemeShopify:
		h.Set(hdrShopifySig, base64.StdEncoding.EncodeToString(mac(secret, body)))
	default:
		return nil, fmt.Errorf("sign: unknown scheme %q", scheme)
	}
	return h, nil
}

// mac is HMAC-SHA256 of the concatenated parts.
func mac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// standardWebhooksKey decodes a Standard Webhooks secret: base64 after an
// optional "whsec_" prefix.
func standardWebhooksKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, errors.New("standard-webhooks secret must be base64, optionally after whsec_")
	}
	return key, nil
}
