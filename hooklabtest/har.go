package hooklabtest

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/mock"
	"github.com/hooklab/hooklab/replay"
	"github.com/hooklab/hooklab/rules"
)

// harMocks turns the entries of a HAR file into mock rules: one rule per
// method, path and query, answering the recorded responses in order. Bodies
// go to files in dir so they are served byte for byte, not as templates.
func harMocks(file, dir, prefix string) (*rules.Config, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("HAR fixture: %w", err)
	}
	exs, err := replay.ReadHAR(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("HAR fixture %s: %w", file, err)
	}
	type group struct {
		method, bin, path string
		query             url.Values
		responses         []*inspect.Response
	}
	var order []string
	groups := map[string]*group{}
	for _, ex := range exs {
		if ex.Response == nil || ex.Response.Status < 200 || ex.Response.Status > 599 {
			continue
		}
		u, err := url.Parse(ex.Request.URL)
		if err != nil {
			continue
		}
		bin, p, err := mock.SplitBin(u.Path)
		if err != nil {
			bin, p = "", u.Path
		}
		if bin == inspect.DefaultBin {
			bin = ""
		}
		q := u.Query()
		key := ex.Request.Method + " " + bin + " " + p + "?" + q.Encode()
		g := groups[key]
		if g == nil {
			g = &group{method: ex.Request.Method, bin: bin, path: p, query: q}
			groups[key] = g
			order = append(order, key)
		}
		g.responses = append(g.responses, ex.Response)
	}
	// A path with a pattern's characters matches more than itself: its
	// rule goes after the exact ones, so that it does not answer for them.
	slices.SortStableFunc(order, func(a, b string) int {
		return cmp.Compare(boolInt(strings.ContainsAny(groups[a].path, "*{}")), boolInt(strings.ContainsAny(groups[b].path, "*{}")))
	})
	var list []any
	for gi, key := range order {
		g := groups[key]
		match := map[string]any{"method": g.method, "path": literalPath(g.path)}
		if len(g.query) > 0 {
			qm := map[string]string{}
			for k, vs := range g.query {
				qm[k] = vs[0]
			}
			match["query"] = qm
		}
		var seq []any
		for ri, r := range g.responses {
			respond := map[string]any{"status": r.Status}
			body := replay.DecodeBody(r.Headers, r.Body)
			if h := servedHeaders(r.Headers, len(body) == 0); len(h) > 0 {
				respond["headers"] = h
			}
			if len(body) > 0 {
				name := fmt.Sprintf("%s-%d-%d.body", prefix, gi+1, ri+1)
				if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
					return nil, err
				}
				respond["file"] = name
			}
			seq = append(seq, respond)
		}
		m := map[string]any{"name": fmt.Sprintf("%s-%d", prefix, gi+1), "match": match, "sequence": seq}
		if g.bin != "" {
			m["bin"] = g.bin
		}
		list = append(list, m)
	}
	c, err := parseMocks(list, dir, prefix)
	if err != nil {
		return nil, fmt.Errorf("HAR fixture %s: %w", file, err)
	}
	return c, nil
}

// literalPath is the mock path pattern for the recorded path p. A path
// may hold *, { or } (sent as %2A, %7B, %7D: JSON in a beacon's path, a
// literal "{id}"), which a pattern reads as wildcards and parameters, and
// patterns have no escape: each run of them becomes *, any characters
// within the segment, so that the path matches itself and little more.
func literalPath(p string) string {
	if !strings.ContainsAny(p, "*{}") {
		return p
	}
	var b strings.Builder
	star := false
	for _, r := range p {
		if strings.ContainsRune("*{}", r) {
			if !star {
				b.WriteByte('*')
			}
			star = true
			continue
		}
		star = false
		b.WriteRune(r)
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// servedHeaders are the recorded response headers a mock sends again: not
// those of the connection or the encoding (bodies are served decoded), nor
// values that would read as templates. A Content-Length of an answer
// without a body (a HEAD's) is kept: mocks send it to HEAD requests, and
// other requests get their body's length.
func servedHeaders(h inspect.Headers, noBody bool) map[string]string {
	out := map[string]string{}
	for _, x := range h {
		switch strings.ToLower(x.Name) {
		case "content-length":
			if _, err := strconv.ParseUint(x.Value, 10, 63); noBody && err == nil {
				out["Content-Length"] = x.Value
			}
			continue
		case "transfer-encoding", "connection", "keep-alive", "content-encoding":
			continue
		}
		if strings.Contains(x.Value, "{{") || strings.Contains(x.Value, "{%") {
			continue
		}
		name := http.CanonicalHeaderKey(x.Name)
		if prev, ok := out[name]; ok {
			if name == "Set-Cookie" {
				continue // one cookie: a mapping holds one value per name
			}
			out[name] = prev + ", " + x.Value
			continue
		}
		out[name] = x.Value
	}
	return out
}

// parseMocks parses generated mock rules, with body files in dir. Their
// strings are taken as they are: a "${" (a JavaScript body's, a recorded
// header's) is no environment variable.
func parseMocks(list []any, dir, name string) (*rules.Config, error) {
	data, err := yaml.Marshal(map[string]any{"mocks": literal(list)})
	if err != nil {
		return nil, err
	}
	file := name
	if dir != "" {
		file = filepath.Join(dir, file+".yaml")
	}
	return rules.Parse(data, file, nil)
}

// literal escapes each "${" in the strings of v as "$${", which the config
// reads as a literal "${".
func literal(v any) any {
	switch v := v.(type) {
	case string:
		return strings.ReplaceAll(v, "${", "$${")
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = literal(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = literal(x)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(v))
		for k, x := range v {
			out[k] = strings.ReplaceAll(x, "${", "$${")
		}
		return out
	}
	return v
}
