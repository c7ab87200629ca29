package proxy

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// Spec is one proxy of the config file's proxies: section.
//
//	proxies:
//	  - name: api                        # the bin; mocks apply with "proxy: api"
//	    listen: 127.0.0.1:9000
//	    upstream: http://127.0.0.1:3000  # the "/" route
//	    request_headers: {add: {X-Env: dev}, remove: [Cookie]}
//	    routes:
//	      - path: /v2
//	        upstream: http://127.0.0.1:3001
//	        strip_prefix: true
//	        response_headers: {add: {X-Via: hooklab}, remove: [Server]}
//	        delay: 100ms..300ms
//	        fault: reset                 # with fail_rate: that share fails so
//	        fail_rate: 0.1
//	        simulate: recorded.har       # answer from recorded exchanges
//	        simulate_miss: proxy         # or 404 (default)
//	        simulate_ignore: {query: [ts], body: [meta.request_id]}
//	  - name: outbound
//	    forward: true                    # HTTP_PROXY / HTTPS_PROXY
//	    listen: 127.0.0.1:8888           # or from --forward-proxy
//	    mitm: true
//	    mitm_ignore: ["*.apple.com"]
//
// Route settings written at the proxy's level (headers, delay, fault,
// fail_rate, drip_rate, simulate...) apply to each of its routes that does
// not set them itself.
type Spec struct {
	// Name is the proxy's name and bin (default "proxy-PORT").
	Name string
	// Listen is the address to serve on; "" for a forward proxy whose
	// address comes from --forward-proxy.
	Listen string
	// Forward makes a forward proxy; its routes have no upstream.
	Forward bool
	// MITM turns on HTTPS interception for a forward proxy.
	MITM bool
	// MITMIgnore lists host globs that keep a plain tunnel.
	MITMIgnore []string
	Routes     []Route
	// File, Line and Col say where the proxy is defined.
	File      string
	Line, Col int
}

// Options returns base with the spec's name, routes and mitm_ignore.
func (s Spec) Options(base Options) Options {
	base.Name, base.Routes, base.MITMIgnore = s.Name, s.Routes, s.MITMIgnore
	return base
}

// ForwardName is the name of the forward proxy that --forward-proxy makes
// when the config has none.
const ForwardName = "forward"

// WithForwardFlag completes specs with --forward-proxy ADDR: the first
// forward proxy of the config without a listen address takes addr, else a
// forward proxy named ForwardName is added. addr "" adds nothing. It fails
// when a proxy is left without a listen address.
func WithForwardFlag(specs []Spec, addr string) ([]Spec, error) {
	specs = slices.Clone(specs)
	if addr != "" {
		done := false
		for i := range specs {
			if specs[i].Forward && specs[i].Listen == "" {
				specs[i].Listen, done = addr, true
				break
			}
		}
		if !done {
			specs = append(specs, Spec{Name: ForwardName, Listen: addr, Forward: true})
		}
	}
	for _, s := range specs {
		if s.Listen == "" {
			return nil, fmt.Errorf("%s:%d: proxy %s: no listen address; set listen, or pass --forward-proxy ADDR", s.File, s.Line, s.Name)
		}
		if why := beyondLoopback(s); why != "" {
			if s.File != "" { // a proxy of the config that took addr
				return nil, fmt.Errorf("%s:%d: proxy %s: a forward proxy %s", s.File, s.Line, s.Name, why)
			}
			return nil, fmt.Errorf("forward proxy %s %s", s.Name, why)
		}
	}
	return specs, nil
}

// beyondLoopback says why a forward proxy listening beyond loopback is
// refused ("on 0.0.0.0:8888 reaches beyond this machine: ..."), or ""
// for any other: anyone who reached it would reach what this machine's
// loopback serves, other services and hooklab's own API.
func beyondLoopback(s Spec) string {
	if !s.Forward || inspect.IsLoopback(s.Listen) {
		return ""
	}
	return fmt.Sprintf("on %s reaches beyond this machine: it would let anyone who can reach it into this machine's loopback services, hooklab's API included; listen on 127.0.0.1", s.Listen)
}

// ParseConfig decodes and validates the proxies: section of cfg, expanding
// ${NAME} with getenv and reading simulate files relative to the config's
// directory. It returns nil for a config without proxies. When the section
// is invalid the error is a *rules.Errors with every problem's file:line.
func ParseConfig(cfg *rules.Config, getenv func(string) string) ([]Spec, error) {
	if cfg == nil || cfg.Proxies == nil {
		return nil, nil
	}
	file := cfg.File
	if file == "" {
		file = "hooklab.yaml"
	}
	dir := filepath.Dir(file)
	if cfg.File == "" {
		dir = "."
	}
	env := cfg.EnvSeen(getenv) // the keys' values too: rules expanded them
	d := &decoder{file: file, dir: dir, getenv: env.Getenv, env: env, sims: map[string]*Simulation{}}
	var specs []Spec
	names, listens := map[string]bool{}, map[string]bool{}
	for i, item := range d.list(cfg.Proxies, "proxies") {
		from := len(d.errs)
		s, ok := d.proxy(item)
		if !ok {
			continue
		}
		if names[s.Name] {
			d.errorf(item, "duplicate name")
		}
		names[s.Name] = true
		if s.Listen != "" {
			if listens[s.Listen] {
				d.errorf(item, "another proxy listens on %s", s.Listen)
			}
			listens[s.Listen] = true
			if why := beyondLoopback(s); why != "" {
				d.errorf(item, "a forward proxy %s", why)
			}
		}
		// Named by its place in the file, which an item of another
		// section before it, taken out of the list, does not change.
		d.label(d.errs[from:], d.env.Scrub(proxyLabel(s.Name, cfg.Place(item, i)))) // a name from ${NAME} as its errors write it
		specs = append(specs, s)
	}
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b rules.Error) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return nil, &rules.Errors{List: d.errs}
	}
	return specs, nil
}

// proxyLabel is what the errors of the i'th proxy (from 0) named name
// begin with: "proxy api"; by its place for one without a name, or with
// one that is no bin name (that error quotes it).
func proxyLabel(name string, i int) string {
	switch {
	case name == "":
		return fmt.Sprintf("proxy %d (no name)", i+1)
	case inspect.ValidBin(name) != nil:
		return fmt.Sprintf("proxy %d", i+1)
	}
	return "proxy " + name
}

// label names the proxy each of errs is in, label: "proxy: unknown key
// ..." becomes "proxy api: unknown key ...", "listen: ..." "proxy api:
// listen: ...".
func (d *decoder) label(errs []rules.Error, label string) {
	for i := range errs {
		if rest, ok := strings.CutPrefix(errs[i].Msg, "proxy:"); ok {
			errs[i].Msg = strings.TrimPrefix(rest, " ")
		}
		errs[i].Rule = label
	}
}

// decoder walks the proxies: section, collecting problems with positions.
type decoder struct {
	file, dir string
	getenv    func(string) string
	env       *rules.EnvSeen // what getenv returned, kept out of messages
	errs      []rules.Error
	sims      map[string]*Simulation // by file and options, shared by routes
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	e := rules.Error{File: d.file, Msg: d.env.Scrub(fmt.Sprintf(format, args...))}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

type pair struct {
	key string
	val *yaml.Node
}

// Keys accepted at each level.
var (
	routeKeys = []string{"request_headers", "response_headers", "delay", "fault", "fail_rate", "drip_rate",
		"simulate", "simulate_miss", "simulate_ignore"}
	proxyKeys   = append([]string{"name", "listen", "upstream", "forward", "mitm", "mitm_ignore", "routes"}, routeKeys...)
	routeOnly   = append([]string{"path", "upstream", "strip_prefix"}, routeKeys...)
	headersKeys = []string{"add", "remove"}
	ignoreKeys  = []string{"query", "body"}
)

// pairs returns the entries of mapping n, reporting unknown and duplicate
// keys.
func (d *decoder) pairs(n *yaml.Node, what string, known []string) []pair {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping, got %s", what, nodeKind(n))
		return nil
	}
	seen := map[string]bool{}
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: keys must be strings", what)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		if !slices.Contains(known, k.Value) {
			d.errorf(k, "%s: unknown key %q%s", what, k.Value, rules.UnknownKey(k.Value, known))
			continue
		}
		out = append(out, pair{key: k.Value, val: v})
	}
	return out
}

func (d *decoder) list(n *yaml.Node, what string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list, got %s", what, nodeKind(n))
		return nil
	}
	return n.Content
}

func (d *decoder) str(n *yaml.Node, what string) string {
	n = resolve(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: want a single value, got %s", what, nodeKind(n))
		return ""
	}
	s, err := rules.ExpandEnv(n.Value, d.getenv)
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
		return ""
	}
	return s
}

func (d *decoder) strList(n *yaml.Node, what string) []string {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		if s := d.str(n, what); s != "" {
			return []string{s}
		}
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if s := d.str(c, what); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) bool(n *yaml.Node, what string) bool {
	s := d.str(n, what)
	if s == "" {
		return false
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		d.errorf(n, "%s: want true or false, got %q", what, s)
	}
	return v
}

// route is a route being decoded, with the keys it set.
type route struct {
	Route
	set      map[string]bool
	pathNode *yaml.Node
	simFile  string
	simNode  *yaml.Node
	simOpts  SimulateOptions
	// failNone is set when the fail_rate in force was written as 0: no
	// request fails, where a Route's FailRate 0 gives every request its
	// Fault (the fault written without a fail_rate).
	failNone bool
}

func (d *decoder) proxy(n *yaml.Node) (Spec, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(n, "proxies: each proxy is a mapping (name, listen, upstream, routes...), got %s", nodeKind(n))
		return Spec{}, false
	}
	s := Spec{File: d.file, Line: n.Line, Col: n.Column}
	defaults := route{set: map[string]bool{}}
	var nameNode, listenNode, upstreamNode, routesNode, mitmNode, ignoreNode *yaml.Node
	var listenErr bool // listen was given but could not be read (an unset ${NAME})
	for _, p := range d.pairs(n, "proxy", proxyKeys) {
		switch p.key {
		case "name":
			nameNode = p.val
			s.Name = d.str(p.val, "name")
		case "listen":
			listenNode = p.val
			before := len(d.errs)
			s.Listen = d.str(p.val, "listen")
			listenErr = len(d.errs) > before
		case "upstream":
			upstreamNode = p.val
		case "forward":
			s.Forward = d.bool(p.val, "forward")
		case "mitm":
			mitmNode = p.val
			s.MITM = d.bool(p.val, "mitm")
		case "mitm_ignore":
			ignoreNode = p.val
			s.MITMIgnore = d.strList(p.val, "mitm_ignore")
			for _, g := range s.MITMIgnore {
				if _, err := path.Match(g, ""); err != nil {
					d.errorf(p.val, "mitm_ignore: bad glob %q: %v", g, err)
				}
			}
		case "routes":
			routesNode = p.val
		default:
			d.routeKey(&defaults, p)
		}
	}
	if s.Listen != "" {
		_, port, err := net.SplitHostPort(s.Listen)
		if err != nil {
			d.errorf(listenNode, "listen: want host:port such as 127.0.0.1:9000, got %q", s.Listen)
		} else if pn, err := strconv.Atoi(port); err != nil || pn < 0 || pn > 65535 {
			d.errorf(listenNode, "listen: bad port %q", port)
		} else if s.Name == "" && pn != 0 {
			s.Name = "proxy-" + port
		}
	} else if !s.Forward && !listenErr { // an unset ${NAME} has said so
		d.errorf(n, "listen is required (e.g. listen: 127.0.0.1:9000)")
	}
	if s.Name == "" {
		if s.Forward && s.Listen == "" {
			s.Name = ForwardName
		} else {
			d.errorf(n, "name is required")
		}
	} else if err := inspect.ValidBin(s.Name); err != nil {
		// ValidBin's error begins "invalid input: ", which says nothing here.
		d.errorf(nameNode, "name: %s; a proxy's name is the bin its exchanges go into", strings.TrimPrefix(err.Error(), inspect.ErrInvalid.Error()+": "))
	}
	if !s.Forward {
		if mitmNode != nil && s.MITM {
			d.errorf(mitmNode, "mitm only applies to a forward proxy (forward: true)")
		}
		if ignoreNode != nil {
			d.errorf(ignoreNode, "mitm_ignore only applies to a forward proxy (forward: true)")
		}
	}
	var routes []route
	if upstreamNode != nil {
		if s.Forward {
			d.errorf(upstreamNode, "a forward proxy has no upstream; each request goes to its own host")
		} else {
			rt := d.inherit(defaults)
			rt.Prefix, rt.Upstream = "/", d.upstream(upstreamNode)
			rt.pathNode = upstreamNode
			routes = append(routes, rt)
		}
	}
	for _, item := range d.list(routesNode, "routes") {
		rt, ok := d.route(item, defaults, s)
		if !ok {
			continue
		}
		if i := slices.IndexFunc(routes, func(o route) bool { return o.Prefix == rt.Prefix }); i >= 0 {
			d.errorf(rt.pathNode, "route path %s is defined twice (line %d)", rt.Prefix, routes[i].pathNode.Line)
			continue
		}
		routes = append(routes, rt)
	}
	if len(routes) == 0 && !s.Forward {
		d.errorf(n, "set upstream, or routes with a path and an upstream")
	}
	if s.Forward && !slices.ContainsFunc(routes, func(o route) bool { return o.Prefix == "/" }) {
		// Every request of a forward proxy goes somewhere.
		rt := d.inherit(defaults)
		rt.Prefix = "/"
		rt.pathNode = n
		routes = append(routes, rt)
	}
	for i := range routes {
		d.finishRoute(&routes[i])
		s.Routes = append(s.Routes, routes[i].Route)
	}
	return s, true
}

// inherit starts a route from the proxy-level settings.
func (d *decoder) inherit(defaults route) route {
	rt := defaults
	rt.set = map[string]bool{}
	return rt
}

func (d *decoder) route(n *yaml.Node, defaults route, s Spec) (route, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(n, "routes: each route is a mapping (path, upstream...), got %s", nodeKind(n))
		return route{}, false
	}
	rt := d.inherit(defaults)
	rt.pathNode = n
	var upstreamNode *yaml.Node
	for _, p := range d.pairs(n, "route", routeOnly) {
		switch p.key {
		case "path":
			rt.pathNode = p.val
			rt.Prefix = d.str(p.val, "path")
			if !strings.HasPrefix(rt.Prefix, "/") {
				d.errorf(p.val, "path: want a path prefix starting with /, got %q", rt.Prefix)
			}
		case "upstream":
			upstreamNode = p.val
		case "strip_prefix":
			rt.Strip = d.bool(p.val, "strip_prefix")
		default:
			// A route's own setting replaces the proxy-level one.
			switch p.key {
			case "request_headers":
				rt.SetRequestHeaders, rt.RemoveRequestHeaders = nil, nil
			case "response_headers":
				rt.SetResponseHeaders, rt.RemoveResponseHeaders = nil, nil
			}
			d.routeKey(&rt, p)
		}
	}
	if rt.Prefix == "" {
		rt.Prefix = "/"
		if rt.pathNode == n {
			d.errorf(n, "route: path is required (e.g. path: /api)")
		}
	}
	switch {
	case s.Forward && upstreamNode != nil:
		d.errorf(upstreamNode, "a forward proxy's routes have no upstream")
	case !s.Forward && upstreamNode == nil:
		d.errorf(n, "route %s: upstream is required", rt.Prefix)
	case upstreamNode != nil:
		rt.Upstream = d.upstream(upstreamNode)
	}
	return rt, true
}

// ParseUpstream parses s as a proxy's upstream: an http or https URL with
// a host (a host name or an IP address), and a port a connection can have
// when it names one. Any other fails, each request to it would, with an
// error saying what is wrong with it ("its host "]" is neither a host name
// nor an IP address"); the error never quotes s, whose user info may hold
// a password.
func ParseUpstream(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if !strings.Contains(s, "://") && (err != nil || u.Scheme != "http" && u.Scheme != "https") {
		// 127.0.0.1:3000 does not parse, localhost:3000 reads as scheme
		// localhost: each is a host written without its scheme.
		return nil, errNoScheme
	}
	if err != nil {
		var ue *url.Error
		switch {
		case strings.Contains(s, "@"):
			// Go's reason may quote a part of the user info (a password
			// with a / in it reads as a port).
			return nil, errors.New("it does not parse as a URL")
		case errors.As(err, &ue):
			err = ue.Err // without the URL again
		}
		return nil, fmt.Errorf("it does not parse as a URL: %w", err)
	}
	if err := checkUpstream(u); err != nil {
		return nil, err
	}
	return u, nil
}

var errNoScheme = errors.New("it has no scheme: begin it with http:// or https://")

// checkUpstream says what makes u no upstream a request can go to, or
// returns nil.
func checkUpstream(u *url.URL) error {
	switch {
	case u.Scheme == "":
		return errNoScheme
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("its scheme %q is neither http nor https", u.Scheme)
	case u.Opaque != "":
		return fmt.Errorf("it has no host (%s: is not followed by //)", u.Scheme)
	case u.Hostname() == "":
		// http://:80 would dial whatever listens on this machine's port
		// 80, which nobody writes on purpose.
		return errors.New("it has no host")
	}
	if err := checkHost(u.Host); err != nil {
		return err
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("its port %q is not a number from 1 to 65535", p)
		}
	}
	return nil
}

// checkHost says why host (host or host:port, as url.URL.Host holds it) is
// neither a host name nor an IP address a connection can go to: Go's URL
// parser takes "]", "a!b" and "h..x" for hosts, and each request to one
// failed to resolve.
func checkHost(host string) error {
	name := host
	if strings.HasPrefix(host, "[") {
		end := strings.LastIndexByte(host, ']')
		if end < 0 {
			return fmt.Errorf("its host %q has no closing ]", host)
		}
		ip, _, _ := strings.Cut(host[1:end], "%") // a zone: fe80::1%en0
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is6() {
			return fmt.Errorf("its host %q is not an IPv6 address, which alone goes in brackets", host[:end+1])
		}
		if rest := host[end+1:]; rest != "" && rest[0] != ':' {
			return fmt.Errorf("its host %q has %q after the ]", host, rest)
		}
		return nil
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		name = host[:i]
	}
	if err := checkHostName(name); err != "" {
		return fmt.Errorf("its host %q is neither a host name nor an IP address: %s", name, err)
	}
	return nil
}

// checkHostName says why name is not a host name (a name of the DNS, or
// an IPv4 address: dot-separated labels of letters, digits, - and _, none
// empty, starting or ending with -, or longer than 63 bytes; an
// internationalized name's letters too), or returns "".
func checkHostName(name string) string {
	if len(name) > 253 {
		return "it is longer than 253 bytes"
	}
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for _, l := range labels {
		switch {
		case l == "":
			return "it has an empty label (two dots, or a dot at the start)"
		case len(l) > 63:
			return "a label of it is longer than 63 bytes"
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Sprintf("its label %q starts or ends with -", l)
		}
		for _, r := range l {
			if r == '-' || r == '_' || r >= 0x80 && unicode.IsPrint(r) && !unicode.IsSpace(r) ||
				'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
				continue
			}
			return fmt.Sprintf("it holds %q, which no host name may", r)
		}
	}
	return ""
}

func (d *decoder) upstream(n *yaml.Node) *url.URL {
	before := len(d.errs)
	s := d.str(n, "upstream")
	u, err := ParseUpstream(s)
	if err != nil {
		if len(d.errs) > before { // one error for one value (an unset ${NAME})
			return &url.URL{Scheme: "http", Host: "invalid"}
		}
		d.errorf(n, "upstream: want an http or https URL with a host, such as http://127.0.0.1:3000, got %q: %v", inspect.ShownURL(s, inspect.QuerySecret(nil)), err)
		return &url.URL{Scheme: "http", Host: "invalid"}
	}
	return u
}

// routeKey decodes one route setting into rt.
func (d *decoder) routeKey(rt *route, p pair) {
	rt.set[p.key] = true
	switch p.key {
	case "request_headers":
		rt.SetRequestHeaders, rt.RemoveRequestHeaders = d.headers(p.val, "request_headers")
	case "response_headers":
		rt.SetResponseHeaders, rt.RemoveResponseHeaders = d.headers(p.val, "response_headers")
	case "delay":
		s := d.str(p.val, "delay")
		if s == "" {
			rt.Delay = rules.Delay{}
			return
		}
		dl, err := rules.ParseDelay(s)
		if err != nil {
			d.errorf(p.val, "delay: %v", err)
		}
		rt.Delay = dl
	case "fault":
		f := rules.Fault(d.str(p.val, "fault"))
		if f != rules.FaultNone && !slices.Contains(faults, string(f)) {
			d.errorf(p.val, "fault: unknown fault %q%s; want %s", f, suggest(string(f), faults), strings.Join(faults, ", "))
			f = rules.FaultNone
		}
		rt.Fault = f
	case "fail_rate":
		s := d.str(p.val, "fail_rate")
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || v > 1 {
			d.errorf(p.val, "fail_rate: want a share between 0 and 1, got %q", s)
			v = 0
		}
		rt.FailRate, rt.failNone = v, v == 0
	case "drip_rate":
		s := d.str(p.val, "drip_rate")
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			d.errorf(p.val, "drip_rate: want bytes per second, more than 0, got %q", s)
			v = 0
		}
		rt.DripRate = v
	case "simulate":
		rt.simFile, rt.simNode = d.str(p.val, "simulate"), p.val
	case "simulate_miss":
		s := d.str(p.val, "simulate_miss")
		m, err := ParseMiss(s)
		if err != nil {
			d.errorf(p.val, "simulate_miss: want 404 or proxy, got %q", s)
		}
		rt.simOpts.Miss = m
	case "simulate_ignore":
		rt.simOpts.IgnoreQuery, rt.simOpts.IgnoreBody = nil, nil
		for _, q := range d.pairs(p.val, "simulate_ignore", ignoreKeys) {
			list := d.strList(q.val, "simulate_ignore."+q.key)
			if q.key == "query" {
				for _, g := range list {
					if _, err := path.Match(g, ""); err != nil {
						d.errorf(q.val, "simulate_ignore.query: bad glob %q: %v", g, err)
					}
				}
				rt.simOpts.IgnoreQuery = list
			} else {
				rt.simOpts.IgnoreBody = list
			}
		}
	}
}

// finishRoute checks settings that depend on each other and loads the
// simulation.
func (d *decoder) finishRoute(rt *route) {
	if rt.DripRate > 0 && rt.Fault != rules.FaultDrip {
		d.errorf(rt.pathNode, "route %s: drip_rate only applies to fault: drip", rt.Prefix)
	}
	if rt.failNone {
		rt.Fault, rt.DripRate = rules.FaultNone, 0
	}
	if rt.simFile == "" {
		if rt.set["simulate_miss"] || rt.set["simulate_ignore"] {
			d.errorf(rt.pathNode, "route %s: simulate_miss and simulate_ignore need simulate: FILE.har", rt.Prefix)
		}
		return
	}
	file := rt.simFile
	if !filepath.IsAbs(file) {
		file = filepath.Join(d.dir, filepath.FromSlash(file))
	}
	key := fmt.Sprintf("%s\x00%q", file, rt.simOpts)
	if sim := d.sims[key]; sim != nil {
		rt.Simulation = sim
		return
	}
	sim, err := LoadSimulation(file, rt.simOpts)
	if err != nil {
		d.errorf(rt.simNode, "simulate: %v", err)
		return
	}
	d.sims[key] = sim
	rt.Simulation = sim
}

// headers decodes {add: {Name: value}, remove: [Name]}.
func (d *decoder) headers(n *yaml.Node, what string) (map[string]string, []string) {
	var add map[string]string
	var remove []string
	for _, p := range d.pairs(n, what, headersKeys) {
		switch p.key {
		case "add":
			m := resolve(p.val)
			if isNull(m) {
				continue
			}
			if m.Kind != yaml.MappingNode {
				d.errorf(m, "%s.add: want a mapping of header name to value, got %s", what, nodeKind(m))
				continue
			}
			add = map[string]string{}
			for i := 0; i+1 < len(m.Content); i += 2 {
				k := resolve(m.Content[i])
				if !validHeaderName(k.Value) {
					d.errorf(k, "%s.add: bad header name %q", what, k.Value)
					continue
				}
				v := d.str(m.Content[i+1], what+".add."+k.Value)
				// Go's transport refuses a request with such a value (every
				// request the route took failed 502). The value may come
				// from the environment: the message does not quote it.
				if at := strings.IndexFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }); at >= 0 {
					d.errorf(m.Content[i+1], "%s.add: the value of %s holds a control character (0x%02x), which no header value may", what, k.Value, v[at])
					continue
				}
				// Mocks' answers are templates; these are not, and a
				// placeholder would reach the upstream as written.
				if strings.Contains(v, "{{") || strings.Contains(v, "{%") {
					d.errorf(m.Content[i+1], "%s.add: the value of %s is sent as written, not as a template ({{ }} and {%% %%} would go out as they are): give a fixed value, or ${NAME} for one from the environment", what, k.Value)
					continue
				}
				add[k.Value] = v
			}
		case "remove":
			for _, h := range d.strList(p.val, what+".remove") {
				if !validHeaderName(h) {
					d.errorf(p.val, "%s.remove: bad header name %q", what, h)
					continue
				}
				if what == "request_headers" && strings.EqualFold(h, "Host") {
					d.errorf(p.val, "%s.remove: Host cannot be removed (every HTTP/1.1 request carries one); add: {Host: NAME} sets the upstream's", what)
					continue
				}
				remove = append(remove, h)
			}
		}
	}
	return add, remove
}

var faults = []string{"reset", "close", "empty", "garbage", "timeout", "drip"}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// suggest returns ` (did you mean "x"?)` for a close known key.
func suggest(word string, known []string) string { return rules.Suggest(word, known) }
