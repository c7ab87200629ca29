package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestIsSecretHeader(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"Authorization": true, "proxy-authorization": true, "Cookie": true, "Set-Cookie": true,
		"X-Api-Key": true, "X-API-KEY": true, "Api_Key": true, "X-Auth-Token": true, "X-Amz-Security-Token": true,
		"Ocp-Apim-Subscription-Key": true, "X-Client-Secret": true, "X-Session-Id": true, "X-Apikey": true,
		"Content-Type": false, "WWW-Authenticate": false, "X-Hub-Signature-256": false, "Stripe-Signature": false,
		"X-Key": false, "Keep-Alive": false, "X-Tokenizer": false, "Authorized-By": false,
		"Api--Key": true, "_Token_": true, "Key-Api": false, "": false,
		"X-Authorization": true, "X-Authorization-Thing": true, "X-Authentication": true, "Proxy-Authenticate": false,
	} {
		if got := IsSecretHeader(name, nil); got != want {
			t.Errorf("IsSecretHeader(%q) = %v, want %v", name, got, want)
		}
	}
	if !IsSecretHeader("X-Tenant", []string{"x-TENANT"}) {
		t.Errorf("an extra name is a secret whatever its case")
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://bot:pw@h/p?q=1":   "http://bot:REDACTED@h/p?q=1",
		"https://bot@h/":          "https://bot@h/",
		"http://h/p?email=a@b.c":  "http://h/p?email=a@b.c",
		"http://h/p":              "http://h/p",
		"::not a url@":            "::not a url@",
		"http://:only-pw@h:8080/": "http://:REDACTED@h:8080/",
		// Not parseable (a / in the password; a space): cut anyway, as
		// config errors quote such URLs.
		"http://al:proxy/secret7@host":       "http://al:REDACTED@host",
		"http://user:pa ss-SECRET@h:19299/x": "http://user:REDACTED@h:19299/x",
		"http://u:pa/ss@wo@rd@h/p?e=a@b":     "http://u:REDACTED@h/p?e=a@b",
		// No scheme: a --server or --proxy upstream given as host:port
		// (taken for a scheme "u" and an opaque rest, or not read at all),
		// as their usage errors quote them.
		"u:pw-SECRET@127.0.0.1:4040/x?y":              "u:REDACTED@127.0.0.1:4040/x?y",
		"u:p/w@rd-SECRET@h:80":                        "u:REDACTED@h:80",
		"127.0.0.1:9000=u:pw-SECRET@127.0.0.1:3000":   "127.0.0.1:9000=u:REDACTED@127.0.0.1:3000",
		"127.0.0.1:9000=//u:pw-SECRET@127.0.0.1:3000": "127.0.0.1:9000=//u:REDACTED@127.0.0.1:3000",
		"bob@h:80": "bob@h:80",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// secretExchange carries a secret in every place Redact looks.
func secretExchange() *Exchange {
	ex := fullExchange()
	ex.Request.URL = "http://bot:url-pw@127.0.0.1:8080/b/orders/hook?x=1"
	ex.Request.Headers = append(ex.Request.Headers,
		Header{"Authorization", "Bearer tok-1"},
		Header{"cookie", "session=s-1; theme=dark"},
		Header{"X-Api-Key", "k-1"},
		Header{"X-Tenant", "t-1"},
		Header{"Authorization", "Bearer tok-2"})
	ex.Response.Headers = append(ex.Response.Headers, Header{"Set-Cookie", "sid=s-2; Path=/; HttpOnly"})
	return ex
}

// TestRedactCookieWithoutName: a cookie with no "=" is all value, as
// browsers read it, so it is no name to show.
func TestRedactCookieWithoutName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, value, want string }{
		{"Cookie", "theme=a; bare333", "theme=REDACTED; REDACTED"},
		{"Cookie", "bare333", "REDACTED"},
		{"Cookie", "a=1;; =x", "a=REDACTED; REDACTED"},
		{"Set-Cookie", "baresecrettoken", "REDACTED"},
		{"Set-Cookie", "baresecret; Path=/", "REDACTED; Path=/"},
		{"Set-Cookie", "sid=1; Path=/", "sid=REDACTED; Path=/"},
	} {
		if got := redactValue(tc.name, tc.value); got != tc.want {
			t.Errorf("%s: %q redacted to %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestExchangeRedact(t *testing.T) {
	t.Parallel()
	ex := secretExchange()
	before, _ := json.Marshal(ex)
	c, r := ex.Redact([]string{"x-tenant"})
	if after, _ := json.Marshal(ex); !bytes.Equal(before, after) {
		t.Fatalf("Redact changed the exchange it was given")
	}
	want := Redaction{
		Request:  []string{"authorization", "cookie", "x-api-key", "x-tenant"},
		Response: []string{"set-cookie"},
		URL:      true,
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("redaction %+v, want %+v", r, want)
	}
	wantReq := map[string]string{
		"Authorization": "REDACTED", "cookie": "session=REDACTED; theme=REDACTED", "X-Api-Key": "REDACTED",
		"X-Tenant": "REDACTED", "x-lower": "a", "Content-Type": "application/json",
	}
	for _, h := range c.Request.Headers {
		if w, ok := wantReq[h.Name]; ok && h.Value != w {
			t.Errorf("request %s: %q, want %q", h.Name, h.Value, w)
		}
	}
	if got := c.Response.Headers[len(c.Response.Headers)-1].Value; got != "sid=REDACTED; Path=/; HttpOnly" {
		t.Errorf("Set-Cookie %q", got)
	}
	if c.Request.URL != "http://bot:REDACTED@127.0.0.1:8080/b/orders/hook?x=1" {
		t.Errorf("URL %q", c.Request.URL)
	}
	if !bytes.Equal(c.Request.Body, ex.Request.Body) {
		t.Errorf("the body changed")
	}
	b, _ := json.Marshal(c)
	for _, secret := range []string{"tok-1", "tok-2", "s-1", "dark", "k-1", "t-1", "s-2", "url-pw"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the redacted copy still holds %q", secret)
		}
	}
}

// TestRedactedJSON: the API's form is the exchange's own JSON plus the
// "redacted" lists; with nothing secret it is the exchange's JSON exactly.
func TestRedactedJSON(t *testing.T) {
	t.Parallel()
	plain := fullExchange()
	plain.Response.Headers = Headers{{"Content-Type", "text/plain"}}
	plain.Meta["big"] = int64(1<<60 + 1) // a number JSON floats would round
	want, err := json.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(RedactJSON(plain, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("with nothing to redact:\n got %s\nwant %s", got, want)
	}

	got, err = json.Marshal(RedactJSON(secretExchange(), nil))
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Request struct {
			URL      string     `json:"url"`
			Redacted []string   `json:"redacted"`
			Headers  [][]string `json:"headers"`
			Body     string     `json:"body"`
		} `json:"request"`
		Response struct {
			Redacted []string `json:"redacted"`
		} `json:"response"`
	}
	if err := json.Unmarshal(got, &j); err != nil {
		t.Fatal(err)
	}
	if want := []string{"authorization", "cookie", "x-api-key", "url"}; !reflect.DeepEqual(j.Request.Redacted, want) {
		t.Errorf("request.redacted %q, want %q", j.Request.Redacted, want)
	}
	if want := []string{"set-cookie"}; !reflect.DeepEqual(j.Response.Redacted, want) {
		t.Errorf("response.redacted %q, want %q", j.Response.Redacted, want)
	}
	if !strings.Contains(j.Request.Body, "ünïcödé") {
		t.Errorf("the body is not as stored: %q", j.Request.Body)
	}
	var back Exchange
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("the redacted form does not decode as an Exchange: %v", err)
	}
}

// TestAPIRedaction: GET of an exchange, its curl and raw forms, and wait
// redact captured secrets unless ?reveal=1, which gives them as stored;
// the list shows no header and no URL password.
func TestAPIRedaction(t *testing.T) {
	t.Parallel()
	hub := NewHub()
	st := openStore(t, t.TempDir(), Options{OnCommit: hub.PublishExchanges})
	api := NewAPI(APIConfig{Store: st, Hub: hub, MaxWait: time.Minute, SecretHeaders: []string{"X-Tenant"}})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e := &apiEnv{store: st, hub: hub, srv: srv}
	ex := secretExchange()
	ex.ID, ex.Bin = testIDs.New(time.Now()), "secrets"
	mustAdd(t, st, ex)
	secrets := []string{"tok-1", "tok-2", "s-1", "dark", "k-1", "t-1", "s-2", "url-pw"}
	inRequest := secrets[:len(secrets)-2] // curl and raw give the request; raw the path only
	for p, secrets := range map[string][]string{"": secrets, "/curl": append(inRequest, "url-pw"), "/raw": inRequest} {
		t.Run("GET"+p, func(t *testing.T) {
			path := "/api/exchanges/" + ex.ID + p
			r := e.do(t, "GET", path, "", "")
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			for _, s := range secrets {
				if bytes.Contains(r.body, []byte(s)) {
					t.Errorf("%s shows %q:\n%s", path, s, r.body)
				}
			}
			if !bytes.Contains(r.body, []byte(Redacted)) {
				t.Errorf("%s does not say REDACTED:\n%s", path, r.body)
			}
			r = e.do(t, "GET", path+"?reveal=1", "", "")
			for _, s := range secrets {
				if !bytes.Contains(r.body, []byte(s)) {
					t.Errorf("%s?reveal=1 does not show %q:\n%s", path, s, r.body)
				}
			}
			if bytes.Contains(r.body, []byte(Redacted)) || bytes.Contains(r.body, []byte(`"redacted"`)) {
				t.Errorf("%s?reveal=1 still redacts:\n%s", path, r.body)
			}
		})
	}
	// reveal takes the words keep_secrets takes; any other value is a
	// 400, not an answer quietly redacted (?reveal=yes looked ignored).
	t.Run("reveal values", func(t *testing.T) {
		for _, p := range []string{"", "/raw", "/curl", "/wait"} {
			path := "/api/exchanges/" + ex.ID + p + "?"
			if p == "/wait" {
				path = "/api/exchanges/wait?bin=secrets&after=00000000000000000000000000&timeout=1s&"
			}
			for v, shows := range map[string]bool{"yes": true, "TRUE": true, "1": true, "no": false, "0": false, "false": false, "": false} {
				r := e.do(t, "GET", path+"reveal="+v, "", "")
				if r.status != http.StatusOK || bytes.Contains(r.body, []byte("tok-1")) != shows {
					t.Errorf("%sreveal=%s: %d, shows the secret %v, want %v:\n%s", path, v, r.status, !shows, shows, r.body)
				}
			}
			for _, v := range []string{"on", "2"} {
				e.do(t, "GET", path+"reveal="+v, "", "").wantError(t, 400, fmt.Sprintf("reveal %q", v), "want 1, true or yes")
			}
		}
		e.do(t, "GET", "/api/exchanges/"+testIDs.New(time.Now())+"?reveal=on", "", "").wantError(t, 400, `reveal "on"`)
	})
	t.Run("revealed exchange as stored", func(t *testing.T) {
		var got Exchange
		e.do(t, "GET", "/api/exchanges/"+ex.ID+"?reveal=1", "", "").decode(t, 200, &got)
		sameExchange(t, ex, &got)
	})
	t.Run("list", func(t *testing.T) {
		r := e.do(t, "GET", "/api/exchanges?bin=secrets", "", "")
		var l listAnswer
		r.decode(t, 200, &l)
		if len(l.Exchanges) != 1 {
			t.Fatalf("list: %s", r.body)
		}
		for _, s := range secrets {
			if bytes.Contains(r.body, []byte(s)) {
				t.Errorf("the list shows %q: %s", s, r.body)
			}
		}
	})
	t.Run("wait", func(t *testing.T) {
		for q, reveal := range map[string]bool{"": false, "&reveal=1": true} {
			r := e.do(t, "GET", "/api/exchanges/wait?bin=secrets&after=00000000000000000000000000&timeout=1s"+q, "", "")
			if r.status != http.StatusOK {
				t.Fatalf("wait: %d %s", r.status, r.body)
			}
			if got := bytes.Contains(r.body, []byte("tok-1")); got != reveal {
				t.Errorf("wait%s shows the token: %v, want %v", q, got, reveal)
			}
		}
	})
}

func TestRedactQuery(t *testing.T) {
	t.Parallel()
	secret := QuerySecret([]string{"X-Tenant"})
	for in, want := range map[string]string{
		"http://h/q?api_key=QS1":                        "http://h/q?api_key=REDACTED",
		"http://h/q?z=1&access_token=QS1&b=%zz&c=d%20e": "http://h/q?z=1&access_token=REDACTED&b=%zz&c=d%20e",
		"http://h/q?api%5Fkey=QS1#token=frag":           "http://h/q?api%5Fkey=REDACTED#token=frag",
		"http://h/q?token=&password":                    "http://h/q?token=&password",
		"http://h/q?x-tenant=t1&key=k&signature=s":      "http://h/q?x-tenant=REDACTED&key=k&signature=s",
		"http://h/q?Secret=a&secret=b&page=2":           "http://h/q?Secret=REDACTED&secret=REDACTED&page=2",
		"http://h/token=x":                              "http://h/token=x",
	} {
		got, changed := RedactQuery(in, secret)
		if got != want || changed != (in != want) {
			t.Errorf("RedactQuery(%q) = %q, %v; want %q", in, got, changed, want)
		}
	}
}
