package rules

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// mustMatcher decodes a matcher from YAML.
func mustMatcher(t *testing.T, src string) *Matcher {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	var root *yaml.Node
	if len(n.Content) > 0 {
		root = n.Content[0]
	}
	m, err := DecodeMatcher(root, "t.yaml", env("TOKEN", "tok"))
	if err != nil {
		t.Fatalf("DecodeMatcher(%s): %v", src, err)
	}
	return m
}

func jsonReq(body string) *Request {
	return &Request{Method: "POST", Path: "/", Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

func TestMatcher(t *testing.T) {
	t.Parallel()
	form := func(body string) *Request {
		return &Request{Method: "POST", Path: "/", Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte(body)}
	}
	get := func(path, query string, hdr ...string) *Request {
		h := http.Header{}
		for i := 0; i+1 < len(hdr); i += 2 {
			h.Add(hdr[i], hdr[i+1])
		}
		return &Request{Method: "GET", Path: path, RawQuery: query, Header: h, Bin: "default"}
	}
	const order = `{"type": "order.created", "total": 42.5, "count": 3, "id": "17", "paid": true, "note": null,
		"tags": ["a", "vip"], "items": [{"sku": "x1", "qty": 2}, {"sku": "y2", "qty": 1}],
		"customer": {"name": "Zoë", "email": "z@example.com"}}`
	tests := []struct {
		name    string
		matcher string
		req     *Request
		want    bool
		params  map[string]string
		why     []string // expected Explain prefixes when want is false
	}{
		{"empty matches all", `{}`, get("/x", ""), true, nil, nil},
		{"method", `{method: GET}`, get("/", ""), true, nil, nil},
		{"method lower case in config", `{method: get}`, get("/", ""), true, nil, nil},
		{"method miss", `{method: POST}`, get("/", ""), false, nil, []string{"method: want POST, got GET"}},
		{"method list", `{method: [PUT, GET]}`, get("/", ""), true, nil, nil},
		{"method list miss", `{method: [PUT, POST]}`, get("/", ""), false, nil, []string{"method: want PUT or POST, got GET"}},

		{"path exact", `{path: /a/b}`, get("/a/b", ""), true, nil, nil},
		{"path exact miss", `{path: /a/b}`, get("/a/b/", ""), false, nil, []string{"path: want /a/b, got /a/b/"}},
		{"path star", `{path: /hooks/*}`, get("/hooks/x", ""), true, nil, nil},
		{"path star one segment only", `{path: /hooks/*}`, get("/hooks/x/y", ""), false, nil, []string{"path:"}},
		{"path star not empty", `{path: /hooks/*}`, get("/hooks/", ""), false, nil, []string{"path:"}},
		{"path double star", `{path: "/zendesk/**"}`, get("/zendesk/a/b/c", ""), true, nil, nil},
		{"path double star zero segments", `{path: "/zendesk/**"}`, get("/zendesk", ""), true, nil, nil},
		{"path double star everything", `{path: "/**"}`, get("/any/thing", ""), true, nil, nil},
		{"path double star middle", `{path: "/a/**/z"}`, get("/a/b/c/z", ""), true, nil, nil},
		{"path double star middle miss", `{path: "/a/**/z"}`, get("/a/b/c/y", ""), false, nil, []string{"path:"}},
		{"path glob in segment", `{path: "/files/*.json"}`, get("/files/a.json", ""), true, nil, nil},
		{"path glob in segment miss", `{path: "/files/*.json"}`, get("/files/a.xml", ""), false, nil, []string{"path:"}},
		{"path template", `{path: "/users/{id}"}`, get("/users/42", ""), true, map[string]string{"id": "42"}, nil},
		{"path template miss", `{path: "/users/{id}"}`, get("/users", ""), false, nil, []string{"path: want /users/{id}, got /users"}},
		{"path template mixed", `{path: "/stripe/{account}/events"}`, get("/stripe/acct_9/events", ""), true, map[string]string{"account": "acct_9"}, nil},
		{"path template two", `{path: "/o/{org}/r/{repo}"}`, get("/o/go/r/tools", ""), true, map[string]string{"org": "go", "repo": "tools"}, nil},
		{"path template in segment", `{path: "/files/{name}.json"}`, get("/files/report.json", ""), true, map[string]string{"name": "report"}, nil},
		{"path template and globs", `{path: "/t/{id}/**"}`, get("/t/7/x/y", ""), true, map[string]string{"id": "7"}, nil},

		{"bin", `{bin: default}`, get("/", ""), true, nil, nil},
		{"bin miss", `{bin: other}`, get("/", ""), false, nil, []string{"bin: want other, got default"}},

		{"query exact", `{query: {page: "2"}}`, get("/", "page=2"), true, nil, nil},
		{"query number in yaml", `{query: {page: 2}}`, get("/", "page=2"), true, nil, nil},
		{"query exact miss", `{query: {page: "2"}}`, get("/", "page=3"), false, nil, []string{`query page: want "2", got "3"`}},
		{"query absent value", `{query: {page: "2"}}`, get("/", ""), false, nil, []string{"query page: absent"}},
		{"query any of several values", `{query: {tag: b}}`, get("/", "tag=a&tag=b"), true, nil, nil},
		{"query regex", `{query: {q: {regex: "^ab+c$"}}}`, get("/", "q=abbbc"), true, nil, nil},
		{"query regex miss", `{query: {q: {regex: "^ab+c$"}}}`, get("/", "q=ac"), false, nil, []string{`query q: want matching /^ab+c$/, got "ac"`}},
		{"query contains", `{query: {q: {contains: ell}}}`, get("/", "q=hello"), true, nil, nil},
		{"query case insensitive equals", `{query: {q: {equals: HELLO, case_insensitive: true}}}`, get("/", "q=hello"), true, nil, nil},
		{"query case insensitive contains", `{query: {q: {contains: ELL, case_insensitive: true}}}`, get("/", "q=hello"), true, nil, nil},
		{"query case insensitive regex", `{query: {q: {regex: "^HEL", case_insensitive: true}}}`, get("/", "q=hello"), true, nil, nil},
		{"query case sensitive by default", `{query: {q: {equals: HELLO}}}`, get("/", "q=hello"), false, nil, []string{"query q:"}},
		{"query present", `{query: {debug: {present: true}}}`, get("/", "debug"), true, nil, nil},
		{"query absent", `{query: {debug: {absent: true}}}`, get("/", "x=1"), true, nil, nil},
		{"query absent miss", `{query: {debug: {absent: true}}}`, get("/", "debug=1"), false, nil, []string{`query debug: want absent, got "1"`}},
		{"query present false means absent", `{query: {debug: {present: false}}}`, get("/", ""), true, nil, nil},
		{"query several checks", `{query: {q: {contains: b, regex: "^a"}}}`, get("/", "q=abc"), true, nil, nil},
		{"query several checks miss", `{query: {q: {contains: z, regex: "^a"}}}`, get("/", "q=abc"), false, nil, []string{`query q: want containing "z" and matching /^a/, got "abc"`}},

		{"header exact", `{headers: {X-Event: push}}`, get("/", "", "X-Event", "push"), true, nil, nil},
		{"header name case-insensitive", `{headers: {x-event: push}}`, get("/", "", "X-Event", "push"), true, nil, nil},
		{"header env value", `{headers: {Authorization: "Bearer ${TOKEN}"}}`, get("/", "", "Authorization", "Bearer tok"), true, nil, nil},
		{"header miss", `{headers: {X-Event: push}}`, get("/", "", "X-Event", "pull"), false, nil, []string{`header X-Event: want "push", got "pull"`}},
		{"header present", `{headers: {X-Sig: {present: true}}}`, get("/", "", "X-Sig", ""), true, nil, nil},
		{"header present miss", `{headers: {X-Sig: {present: true}}}`, get("/", ""), false, nil, []string{"header X-Sig: absent"}},
		{"header absent", `{headers: {X-Sig: {absent: true}}}`, get("/", ""), true, nil, nil},
		{"header regex", `{headers: {User-Agent: {regex: "^GitHub-Hookshot/"}}}`, get("/", "", "User-Agent", "GitHub-Hookshot/abc"), true, nil, nil},
		{"header repeated", `{headers: {Accept: text/html}}`, get("/", "", "Accept", "application/json", "Accept", "text/html"), true, nil, nil},

		{"body equals", `{body: hello}`, jsonReq("hello"), true, nil, nil},
		{"body contains", `{body: {contains: '"vip"'}}`, jsonReq(order), true, nil, nil},
		{"body contains miss", `{body: {contains: nope}}`, jsonReq(order), false, nil, []string{`body: want containing "nope"`}},
		{"body regex", `{body: {regex: '"total":\s*42'}}`, jsonReq(order), true, nil, nil},
		{"body absent", `{body: {absent: true}}`, get("/", ""), true, nil, nil},

		{"json eq string", `{json: [{path: type, op: eq, value: order.created}]}`, jsonReq(order), true, nil, nil},
		{"json op defaults to eq", `{json: [{path: type, value: order.created}]}`, jsonReq(order), true, nil, nil},
		{"json eq miss", `{json: [{path: type, value: order.paid}]}`, jsonReq(order), false, nil, []string{`json type: want eq "order.paid", got "order.created"`}},
		{"json eq number", `{json: [{path: count, value: 3}]}`, jsonReq(order), true, nil, nil},
		{"json eq float", `{json: [{path: total, value: 42.5}]}`, jsonReq(order), true, nil, nil},
		{"json eq number given as string", `{json: [{path: count, value: "3"}]}`, jsonReq(order), true, nil, nil},
		{"json eq string given as number", `{json: [{path: id, value: 17}]}`, jsonReq(order), true, nil, nil},
		{"json eq bool", `{json: [{path: paid, value: true}]}`, jsonReq(order), true, nil, nil},
		{"json eq null", `{json: [{path: note, value: null}]}`, jsonReq(order), true, nil, nil},
		{"json eq null miss on missing", `{json: [{path: nothing, value: null}]}`, jsonReq(order), false, nil, []string{"json nothing: want eq null, got nothing"}},
		{"json eq object", `{json: [{path: customer, value: {name: Zoë, email: z@example.com}}]}`, jsonReq(order), true, nil, nil},
		{"json eq array", `{json: [{path: tags, value: [a, vip]}]}`, jsonReq(order), true, nil, nil},
		{"json nested path", `{json: [{path: customer.email, value: z@example.com}]}`, jsonReq(order), true, nil, nil},
		{"json array index", `{json: [{path: items.1.sku, value: y2}]}`, jsonReq(order), true, nil, nil},
		{"json gjson query", `{json: [{path: "items.#(qty>1).sku", value: x1}]}`, jsonReq(order), true, nil, nil},
		{"json ne", `{json: [{path: type, op: ne, value: order.paid}]}`, jsonReq(order), true, nil, nil},
		{"json ne missing path", `{json: [{path: nothing, op: ne, value: x}]}`, jsonReq(order), true, nil, nil},
		{"json ne miss", `{json: [{path: type, op: ne, value: order.created}]}`, jsonReq(order), false, nil, []string{"json type: want ne"}},
		{"json in", `{json: [{path: type, op: in, value: [order.paid, order.created]}]}`, jsonReq(order), true, nil, nil},
		{"json in miss", `{json: [{path: type, op: in, value: [a, b]}]}`, jsonReq(order), false, nil, []string{"json type: want in [a b]"}},
		{"json exists", `{json: [{path: customer.name, op: exists}]}`, jsonReq(order), true, nil, nil},
		{"json exists miss", `{json: [{path: customer.phone, op: exists}]}`, jsonReq(order), false, nil, []string{"json customer.phone: want present, got nothing"}},
		{"json exists false", `{json: [{path: customer.phone, op: exists, value: false}]}`, jsonReq(order), true, nil, nil},
		{"json exists false miss", `{json: [{path: customer.name, op: exists, value: false}]}`, jsonReq(order), false, nil, []string{`json customer.name: want absent, got "Zoë"`}},
		{"json regex", `{json: [{path: customer.email, op: regex, value: "@example\\.com$"}]}`, jsonReq(order), true, nil, nil},
		{"json regex on number", `{json: [{path: count, op: regex, value: "^[0-9]+$"}]}`, jsonReq(order), true, nil, nil},
		{"json gt", `{json: [{path: total, op: gt, value: 42}]}`, jsonReq(order), true, nil, nil},
		{"json gt miss", `{json: [{path: total, op: gt, value: 42.5}]}`, jsonReq(order), false, nil, []string{"json total: want gt 42.5, got 42.5"}},
		{"json gte", `{json: [{path: total, op: gte, value: 42.5}]}`, jsonReq(order), true, nil, nil},
		{"json lt", `{json: [{path: count, op: lt, value: 4}]}`, jsonReq(order), true, nil, nil},
		{"json lte", `{json: [{path: count, op: lte, value: 3}]}`, jsonReq(order), true, nil, nil},
		{"json lte miss", `{json: [{path: count, op: lte, value: 2}]}`, jsonReq(order), false, nil, []string{"json count:"}},
		{"json gt on numeric string", `{json: [{path: id, op: gt, value: 10}]}`, jsonReq(order), true, nil, nil},
		{"json gt on text", `{json: [{path: type, op: gt, value: 10}]}`, jsonReq(order), false, nil, []string{"json type:"}},
		{"json contains array", `{json: [{path: tags, op: contains, value: vip}]}`, jsonReq(order), true, nil, nil},
		{"json contains array miss", `{json: [{path: tags, op: contains, value: gold}]}`, jsonReq(order), false, nil, []string{"json tags:"}},
		{"json contains string", `{json: [{path: customer.email, op: contains, value: "@example"}]}`, jsonReq(order), true, nil, nil},
		{"json contains object key", `{json: [{path: customer, op: contains, value: email}]}`, jsonReq(order), true, nil, nil},
		{"json all conditions", `{json: [{path: type, value: order.created}, {path: count, op: gt, value: 5}]}`, jsonReq(order), false, nil, []string{"json count:"}},
		{"json on a non-JSON body", `{json: [{path: a, op: exists}]}`, form("a=1"), false, nil, []string{"json a: body is not JSON"}},

		{"json_partial", `{json_partial: {type: order.created, customer: {name: Zoë}}}`, jsonReq(order), true, nil, nil},
		{"json_partial array elements any order", `{json_partial: {tags: [vip], items: [{qty: 1}]}}`, jsonReq(order), true, nil, nil},
		{"json_partial number", `{json_partial: {count: 3, total: 42.5}}`, jsonReq(order), true, nil, nil},
		{"json_partial miss", `{json_partial: {customer: {name: Zoe}}}`, jsonReq(order), false, nil, []string{"json_partial: body does not contain the document"}},
		{"json_partial null", `{json_partial: {note: null}}`, jsonReq(order), true, nil, nil},
		{"json_partial not JSON", `{json_partial: {a: 1}}`, form("a=1"), false, nil, []string{"json_partial: body is not JSON"}},

		{"form field", `{form: {user: ann}}`, form("user=ann&x=1"), true, nil, nil},
		{"form field regex", `{form: {text: {regex: "^hi"}}}`, form("text=hi+there"), true, nil, nil},
		{"form field miss", `{form: {user: bob}}`, form("user=ann"), false, nil, []string{`form user: want "bob", got "ann"`}},
		{"form absent field", `{form: {secret: {absent: true}}}`, form("user=ann"), true, nil, nil},
		{"form multipart", `{form: {name: gopher}}`, &Request{Method: "POST", Path: "/", Header: http.Header{"Content-Type": {"multipart/form-data; boundary=XX"}},
			Body: []byte("--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ngopher\r\n--XX--\r\n")}, true, nil, nil},
		{"form not parsed from JSON", `{form: {a: {present: true}}}`, jsonReq(`{"a": 1}`), false, nil, []string{"form a: absent"}},

		{"all", `{all: [{method: GET}, {path: "/u/{id}"}]}`, get("/u/5", ""), true, map[string]string{"id": "5"}, nil},
		{"all miss", `{all: [{method: GET}, {method: POST}]}`, get("/", ""), false, nil, []string{"all[1]: method: want POST, got GET"}},
		{"any", `{any: [{method: POST}, {path: "/u/{id}"}]}`, get("/u/6", ""), true, map[string]string{"id": "6"}, nil},
		{"any miss reports the closest", `{any: [{method: POST, path: /x}, {method: PUT}]}`, get("/", ""), false, nil, []string{"any[1]: method: want PUT, got GET"}},
		{"not", `{not: {method: POST}}`, get("/", ""), true, nil, nil},
		{"not miss", `{not: {method: GET}}`, get("/", ""), false, nil, []string{"not: the request matches the negated conditions"}},
		{"nested", `{any: [{all: [{method: GET}, {not: {query: {x: {present: true}}}}]}]}`, get("/", "y=1"), true, nil, nil},

		{"everything misses at once", `{method: POST, path: /b, query: {a: "1"}, headers: {X-A: a}}`, get("/a", ""), false, nil,
			[]string{"method:", "path:", "query a: absent", "header X-A: absent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mustMatcher(t, tt.matcher)
			params, ok := m.Match(tt.req)
			if ok != tt.want {
				t.Fatalf("Match = %v; want %v (explain: %q)", ok, tt.want, m.Explain(tt.req))
			}
			if diff := cmp.Diff(tt.params, params); ok && diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
			why := m.Explain(tt.req)
			if tt.want {
				if len(why) != 0 {
					t.Errorf("Explain on a match = %q; want empty", why)
				}
				return
			}
			if len(why) != len(tt.why) {
				t.Fatalf("Explain = %q; want %d reasons like %q", why, len(tt.why), tt.why)
			}
			for i := range why {
				if !strings.HasPrefix(why[i], tt.why[i]) {
					t.Errorf("reason %d = %q; want prefix %q", i, why[i], tt.why[i])
				}
			}
		})
	}
}

func TestMatcherLazyParsing(t *testing.T) {
	t.Parallel()
	r := jsonReq(`{"a": {"b": 1}}`)
	if r.jsonBody() == nil || !r.isJSON() {
		t.Fatal("body not parsed")
	}
	first := r.jsonBody().(map[string]any)
	first["marker"] = true
	if _, ok := r.jsonBody().(map[string]any)["marker"]; !ok {
		t.Error("body parsed twice")
	}
}

func TestPathPatternErrors(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"no-slash", "/a/{}", "/a/{1x}", "/a/{id}/{id}", "/a/x**", "/a/{open", "/a/close}"} {
		if _, err := compilePath(p); err == nil {
			t.Errorf("compilePath(%q): want an error", p)
		}
	}
}

func TestMatchMockScope(t *testing.T) {
	t.Parallel()
	src := `mocks:
  - {name: in-bin, bin: special, match: {path: /x}, respond: {status: 201}}
  - {name: proxied, proxy: api, match: {path: /x}, respond: {status: 202}}
  - {name: any-proxy, proxy: "*", match: {path: /x}, respond: {status: 203}}
  - {name: capture, match: {path: /x}, respond: {status: 204}}
  - {name: second, match: {path: /x}, respond: {status: 205}}
`
	c, err := Parse([]byte(src), "s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		bin, proxy, want string
	}{
		{"special", "", "in-bin"},
		{"default", "", "capture"},
		{"default", "api", "proxied"},
		{"default", "web", "any-proxy"},
	}
	for _, tt := range tests {
		m, _ := c.MatchMock(&Request{Method: "GET", Path: "/x", Bin: tt.bin, Proxy: tt.proxy})
		if m == nil || m.Name != tt.want {
			t.Errorf("bin %q proxy %q: got %v, want %s", tt.bin, tt.proxy, m, tt.want)
		}
	}
}

func TestNearMiss(t *testing.T) {
	t.Parallel()
	src := `mocks:
  - {name: far, match: {method: PUT, path: /other, headers: {X-A: a}}, respond: {}}
  - {name: close, match: {method: POST, path: "/orders/{id}"}, respond: {}}
  - {name: closer-but-out-of-scope, bin: elsewhere, match: {method: POST}, respond: {}}
`
	c, err := Parse([]byte(src), "n.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &Request{Method: "GET", Path: "/orders/1", Bin: "default"}
	name, why := c.NearMiss(r)
	if name != "close" || !slices.Equal(why, []string{"method: want POST, got GET"}) {
		t.Errorf("NearMiss = %q, %q", name, why)
	}
	r.Method = "POST"
	if name, why := c.NearMiss(r); name != "" || why != nil {
		t.Errorf("NearMiss on a match = %q, %q", name, why)
	}
	var none *Config
	if m, _ := none.MatchMock(r); m != nil {
		t.Error("nil config matched")
	}
	if name, _ := (&Config{}).NearMiss(r); name != "" {
		t.Error("empty config has a near miss")
	}
}

// TestNearMissPrefersThePath: the closest rule is the one whose path
// matched, whatever comes first in the file; a rule of another bin that
// would match says so; between rules whose path missed, the one whose
// pattern starts most like the path.
func TestNearMissPrefersThePath(t *testing.T) {
	t.Parallel()
	src := `mocks:
  - {name: liquid, match: {path: /liquid}, respond: {}}
  - {name: body-regex, match: {path: /bodyre, body: {regex: "^ab+c$"}}, respond: {}}
  - {name: sec, match: {path: /sec, headers: {Authorization: Bearer right}}, respond: {}}
  - {name: binonly, bin: special, match: {path: /here}, respond: {}}
  - {name: glob-star, match: {path: "/g1/*"}, respond: {}}
  - {name: stripe-pay, bin: stripe, match: {method: POST, path: /pay}, respond: {}}
  - {name: needs-header, match: {method: PUT, headers: {X-A: "1"}}, respond: {}}
`
	c, err := Parse([]byte(src), "n.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		r      Request
		name   string
		reason string
	}{
		{Request{Method: "POST", Path: "/bodyre", Body: []byte("abbbcd"), Bin: "default"}, "body-regex", "body"},
		{Request{Method: "GET", Path: "/sec", Header: http.Header{"Authorization": {"Bearer wrong"}}, Bin: "default"}, "sec", "Authorization"},
		{Request{Method: "GET", Path: "/here", Bin: "default"}, "binonly", "bin special"},
		{Request{Method: "GET", Path: "/g1/a/b", Bin: "default"}, "glob-star", "path"},
		// Only the bin differs: closer than a rule with no path at all.
		{Request{Method: "POST", Path: "/pay", Bin: "shop"}, "stripe-pay", "bin stripe"},
	} {
		name, why := c.NearMiss(&tc.r)
		if name != tc.name || !strings.Contains(strings.Join(why, "; "), tc.reason) {
			t.Errorf("%s %s: near miss %q %q, want %s (%s)", tc.r.Method, tc.r.Path, name, why, tc.name, tc.reason)
		}
	}
}

func BenchmarkMatchMock(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("mocks:\n")
	for i := range 49 {
		sb.WriteString("  - match: {method: POST, path: '/hooks/r" + strings.Repeat("x", i%5) + "/{id}', json: [{path: type, value: t" + string(rune('a'+i%26)) + "}]}\n    respond: {}\n")
	}
	sb.WriteString("  - match: {method: POST, path: '/hooks/last/{id}', json: [{path: type, value: ticket.created}]}\n    respond: {headers: {Content-Type: application/json}, body: '{\"id\": {{request.json.ticket.id}}, \"p\": \"{{request.params.id}}\"}'}\n")
	c, err := Parse([]byte(sb.String()), "b.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"type": "ticket.created", "ticket": {"id": 42, "title": "Help"}}`)
	b.ReportAllocs()
	for b.Loop() {
		r := &Request{Method: "POST", Path: "/hooks/last/7", Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
		m, params := c.MatchMock(r)
		if m == nil {
			b.Fatal("no match")
		}
		if _, err := m.Respond.RenderBody(RequestVars(r, params)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMatchHostAndCutBody: rules see the Host header, which net/http keeps
// apart, and a JSON body cut at max_body is said to be cut, not "not JSON".
func TestMatchHostAndCutBody(t *testing.T) {
	c, err := Parse([]byte("mocks:\n  - name: vhost\n    match: {headers: {host: {regex: '^api\\.'}}}\n    respond: {body: '{{ request.headers.host }}'}\n  - name: big\n    match: {json: [{path: a, op: exists}]}\n    respond: {status: 201}\n"), "h.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := c.MatchMock(&Request{Method: "GET", Path: "/", Header: http.Header{}, Host: "api.example.test"})
	if m == nil || m.Name != "vhost" {
		t.Fatalf("Host api.example.test matched %v, want vhost", m)
	}
	out, err := m.Respond.Body.Render(RequestVars(&Request{Host: "api.example.test", Header: http.Header{}}, nil))
	if err != nil || string(out) != "api.example.test" {
		t.Errorf("request.headers.host rendered %q, %v", out, err)
	}
	body := []byte(`{"a": 1, "pad": "` + strings.Repeat("x", 50))
	if c, err = Parse([]byte("mocks:\n  - name: big\n    match: {json: [{path: a, op: exists}]}\n    respond: {status: 201}\n"), "b.yaml", nil); err != nil {
		t.Fatal(err)
	}
	name, reasons := c.NearMiss(&Request{Method: "POST", Path: "/", Header: http.Header{}, Host: "other", Body: body, BodySize: 1000})
	if name != "big" || len(reasons) == 0 || !strings.Contains(reasons[0], "cut at 67 of 1000 bytes by max_body") {
		t.Errorf("near miss %s %q, want big saying the body was cut", name, reasons)
	}
}

// TestMatchHostileJSON: a body nested ten million deep is no JSON (gjson's
// recursive validator overflowed the stack, killing the process, in
// matching, in near-miss reasons and in request.json); and a JSON body cut
// at max_body is not read as JSON even when the part kept parses.
func TestMatchHostileJSON(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("mocks:\n  - name: paid\n    match: {json: [{path: type, op: eq, value: paid}]}\n    respond: {body: 'got {{ request.json }}'}\n  - name: any\n    respond: {body: 'json {{ request.json }}'}\n"), "h.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	deep := &Request{Method: "POST", Path: "/", Header: http.Header{}, Body: bytes.Repeat([]byte("["), 11<<20)}
	if m, _ := c.MatchMock(deep); m == nil || m.Name != "any" {
		t.Errorf("a deep body matched %v, want any", m)
	}
	only, err := Parse([]byte("mocks:\n  - name: paid\n    match: {json: [{path: type, op: eq, value: paid}]}\n    respond: {status: 201}\n"), "p.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if name, reasons := only.NearMiss(deep); name != "paid" || len(reasons) == 0 {
		t.Errorf("near miss %q %q", name, reasons)
	}
	cut := &Request{Method: "POST", Path: "/", Header: http.Header{}, Body: []byte(`{"type": "paid"}`), BodySize: 1000}
	m, _ := c.MatchMock(cut)
	if m == nil || m.Name != "any" {
		t.Fatalf("a cut body matched %v, want any", m)
	}
	if out, err := m.Respond.Body.Render(RequestVars(cut, nil)); err != nil || string(out) != "json " {
		t.Errorf("request.json of a cut body rendered %q, %v", out, err)
	}
}

// TestMatcherBigNumbers: integers beyond 2^53 (ids) compare by their
// digits, not as the float64 they round to; decimals and small integers
// compare as before.
func TestMatcherBigNumbers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		matcher, body string
		want          bool
	}{
		{`{json: [{path: id, value: 9007199254740993}]}`, `{"id": 9007199254740993}`, true},
		{`{json: [{path: id, value: 9007199254740993}]}`, `{"id": 9007199254740992}`, false},
		{`{json: [{path: id, value: 9007199254740992}]}`, `{"id": 9007199254740993}`, false},
		{`{json: [{path: id, value: 9007199254740993}]}`, `{"id": "9007199254740993"}`, true},
		{`{json: [{path: id, value: "9007199254740993"}]}`, `{"id": 9007199254740992}`, false},
		{`{json: [{path: id, value: 12345678901234567890}]}`, `{"id": 12345678901234567890}`, true},
		{`{json: [{path: id, value: 12345678901234567890}]}`, `{"id": 12345678901234567891}`, false},
		{`{json: [{path: id, op: ne, value: 9007199254740993}]}`, `{"id": 9007199254740992}`, true},
		{`{json: [{path: id, op: gt, value: 9007199254740992}]}`, `{"id": 9007199254740993}`, true},
		{`{json: [{path: id, op: gt, value: 9007199254740993}]}`, `{"id": 9007199254740993}`, false},
		{`{json: [{path: id, op: gte, value: 9007199254740993}]}`, `{"id": 9007199254740993}`, true},
		{`{json: [{path: id, op: lt, value: 9007199254740994}]}`, `{"id": 9007199254740993}`, true},
		{`{json: [{path: id, op: in, value: [1, 9007199254740993]}]}`, `{"id": 9007199254740992}`, false},
		{`{json: [{path: id, op: in, value: [1, 9007199254740993]}]}`, `{"id": 9007199254740993}`, true},
		{`{json_partial: {id: 1152921504606846977}}`, `{"id": 1152921504606846977, "x": 1}`, true},
		{`{json_partial: {id: 1152921504606846977}}`, `{"id": 1152921504606846976}`, false},
		{`{json_partial: {id: 12345678901234567890}}`, `{"id": 12345678901234567890}`, true},
		{`{json_partial: {ids: [9007199254740993]}}`, `{"ids": [9007199254740992, 9007199254740993]}`, true},
		{`{json_partial: {ids: [9007199254740993]}}`, `{"ids": [9007199254740992]}`, false},
		// As before: decimals as float64, integers equal to decimals.
		{`{json: [{path: p, value: 19.99}]}`, `{"p": 19.99}`, true},
		{`{json: [{path: p, value: 42}]}`, `{"p": 42.0}`, true},
		{`{json: [{path: p, op: gt, value: 19.98}]}`, `{"p": 19.99}`, true},
		{`{json_partial: {p: 42}}`, `{"p": 42}`, true},
		{`{json_partial: {p: 1.5}}`, `{"p": 1.5}`, true},
		// A string holding a number compares as one; "Infinity", "NaN"
		// and hex are no numbers a JSON body writes.
		{`{json: [{path: a, op: gt, value: 1000}]}`, `{"a": "1001"}`, true},
		{`{json: [{path: a, op: gt, value: 1000}]}`, `{"a": " +1.5e3 "}`, true},
		{`{json: [{path: a, op: gt, value: 1000}]}`, `{"a": "Infinity"}`, false},
		{`{json: [{path: a, op: gt, value: 1000}]}`, `{"a": "inf"}`, false},
		{`{json: [{path: a, op: gt, value: 1000}]}`, `{"a": "0x1p11"}`, false},
		{`{json: [{path: a, op: lt, value: 1000}]}`, `{"a": "NaN"}`, false},
		{`{json: [{path: a, op: lt, value: 1000}]}`, `{"a": "1e"}`, false},
		{`{json: [{path: a, op: lt, value: 1000}]}`, `{"a": "."}`, false},
	} {
		m := mustMatcher(t, tc.matcher)
		if _, got := m.Match(jsonReq(tc.body)); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.matcher, tc.body, got, tc.want)
		}
	}
}

// TestMatchCutMultipart: a multipart upload cut at max_body (its fields
// before a large file) keeps the fields that came whole; reading the form
// all at once gave none ("form name: absent"), and a field still missing
// says the body was cut.
func TestMatchCutMultipart(t *testing.T) {
	t.Parallel()
	whole := "--XB\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbob\r\n" +
		"--XB\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\na\r\n" +
		"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n\r\n" + strings.Repeat("x", 4000) + "\r\n" +
		"--XB\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nlate\r\n--XB--\r\n"
	cut := whole[:1024]
	req := func(body string, size int64) *Request {
		return &Request{Method: "POST", Path: "/", Header: http.Header{"Content-Type": {"multipart/form-data; boundary=XB"}}, Body: []byte(body), BodySize: size}
	}
	m := mustMatcher(t, `{form: {name: bob, tag: a}}`)
	if _, ok := m.Match(req(cut, int64(len(whole)))); !ok {
		t.Errorf("cut upload: fields before the cut do not match: %v", m.Explain(req(cut, int64(len(whole)))))
	}
	if _, ok := m.Match(req(whole, 0)); !ok {
		t.Errorf("whole upload does not match: %v", m.Explain(req(whole, 0)))
	}
	late := mustMatcher(t, `{form: {after: late}}`)
	why := late.Explain(req(cut, int64(len(whole))))
	if len(why) != 1 || !strings.Contains(why[0], "cut at 1024 of") {
		t.Errorf("field after the cut: %q; want a reason saying the body was cut", why)
	}
	if _, ok := late.Match(req(whole, 0)); !ok {
		t.Error("whole upload: the field after the file does not match")
	}
	vars := RequestVars(req(cut, int64(len(whole))), nil)
	if f := vars["request"].(map[string]any)["form"].(map[string]any); f["name"] != "bob" || f["file"] != nil {
		t.Errorf("request.form = %v; want name bob and no file", f)
	}
}
