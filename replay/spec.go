package replay

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/hooklab/hooklab/inspect"
	"golang.org/x/net/http/httpguts"
)

// Spec is a replay run as the API takes it (POST /api/replay) and the
// command sends it: what to replay (IDs, else Filter, or a HAR file), where,
// how, and how to compare.
type Spec struct {
	IDs    []string `json:"ids,omitempty"`
	Filter *Filter  `json:"filter,omitempty"`
	// HAR is a whole HAR file (Chrome's and Firefox's extension fields
	// included).
	HAR json.RawMessage `json:"har,omitempty"`
	// HARFile names the HAR file, for the run's selection to show: only
	// its base name is kept (a path is cut to it), so the run says
	// "stripe.har" and no directory of the machine the file came from.
	HARFile string `json:"har_file,omitempty"`

	Target      string       `json:"target,omitempty"`
	StripPrefix string       `json:"strip_prefix,omitempty"`
	Override    OverrideSpec `json:"override,omitzero"`
	Resign      bool         `json:"resign,omitempty"`
	// Insecure skips verification of the target's TLS certificate.
	Insecure bool `json:"insecure,omitempty"`

	Pace        string  `json:"pace,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	Speed       float64 `json:"speed,omitempty"`
	// Timeout is a duration such as "30s".
	Timeout string `json:"timeout,omitempty"`
	// GiveUpAfter ends the run after this many requests in a row got no
	// answer: 5 when zero (or absent), -1 never.
	GiveUpAfter int `json:"give_up_after,omitempty"`

	Diff DiffOptions `json:"diff,omitzero"`
}

// OverrideSpec is Overrides in JSON: the body as text, or as base64 for
// bytes.
type OverrideSpec struct {
	SetHeaders    inspect.Headers `json:"set_headers,omitempty"`
	RemoveHeaders []string        `json:"remove_headers,omitempty"`
	Method        string          `json:"method,omitempty"`
	Path          string          `json:"path,omitempty"`
	Body          *string         `json:"body,omitempty"`
	BodyBase64    *string         `json:"body_base64,omitempty"`
}

// Overrides returns s as Overrides.
func (s OverrideSpec) Overrides() (Overrides, error) {
	o := Overrides{SetHeaders: s.SetHeaders, RemoveHeaders: s.RemoveHeaders, Method: s.Method, Path: s.Path}
	for _, h := range s.SetHeaders {
		// Checked here, so that a run is refused up front rather than
		// failing every request.
		if !validToken(h.Name) {
			return o, fmt.Errorf("%w: override set_headers: header name %q is not a token", inspect.ErrInvalid, h.Name)
		}
		if !httpguts.ValidHeaderFieldValue(h.Value) {
			return o, fmt.Errorf("%w: override set_headers: header %s: its value holds a control character (CR, LF, NUL...)", inspect.ErrInvalid, h.Name)
		}
	}
	switch {
	case s.Body != nil && s.BodyBase64 != nil:
		return o, fmt.Errorf("%w: override: give body or body_base64, not both", inspect.ErrInvalid)
	case s.Body != nil:
		o.Body, o.SetBody = []byte(*s.Body), true
	case s.BodyBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*s.BodyBase64)
		if err != nil {
			return o, fmt.Errorf("%w: override body_base64: %v", inspect.ErrInvalid, err)
		}
		o.Body, o.SetBody = b, true
	}
	return o, nil
}

// optionNames names the options of a Spec in the words of who gave them:
// the command's flags, or the API's fields.
type optionNames struct {
	target, stripPrefix, noHeaders, compareHeaders string
}

func flagNames() optionNames {
	return optionNames{target: "--target", stripPrefix: "--strip-prefix", noHeaders: "--no-headers", compareHeaders: "--compare-header"}
}

func fieldNames() optionNames {
	return optionNames{target: "target", stripPrefix: "strip_prefix", noHeaders: "diff.no_headers", compareHeaders: "diff.compare_headers"}
}

// inert says which option of s would do nothing, in the words of n, or
// returns "": headers to compare when none are, a prefix to strip with no
// target to put the path after. Such options are refused, not ignored: the
// run's report would read as if they had been applied.
func (s *Spec) inert(n optionNames) string {
	if s.Diff.NoHeaders && len(s.Diff.CompareHeaders) > 0 {
		return fmt.Sprintf("%s %s compares a header, and %s compares none: give one or the other", n.compareHeaders, s.Diff.CompareHeaders[0], n.noHeaders)
	}
	if s.StripPrefix != "" && s.Target == "" {
		return fmt.Sprintf("%s %s shortens the path put after %s's, and there is no %s: give %s URL, or leave %s out", n.stripPrefix, s.StripPrefix, n.target, n.target, n.target, n.stripPrefix)
	}
	return ""
}

// Options returns the run options of s, on top of base (which brings the
// callbacks, transport and clock).
func (s *Spec) Options(base Options) (Options, error) {
	o := base
	if msg := s.inert(fieldNames()); msg != "" {
		return o, fmt.Errorf("%w: %s", inspect.ErrInvalid, msg)
	}
	o.Target, o.StripPrefix, o.Resign, o.Insecure = s.Target, s.StripPrefix, s.Resign, s.Insecure
	o.Pace, o.Concurrency, o.Speed, o.Diff = s.Pace, s.Concurrency, s.Speed, s.Diff
	var err error
	if o.Override, err = s.Override.Overrides(); err != nil {
		return o, err
	}
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("%w: timeout %q: want a duration like 30s", inspect.ErrInvalid, s.Timeout)
		}
		o.Timeout = d
	}
	if s.GiveUpAfter < -1 {
		return o, fmt.Errorf("%w: give_up_after %d: want a number of requests, or -1 for never", inspect.ErrInvalid, s.GiveUpAfter)
	}
	o.GiveUpAfter = s.GiveUpAfter
	if s.Concurrency < 0 || s.Concurrency > 1024 {
		return o, fmt.Errorf("%w: concurrency %d: want 1 to 1024", inspect.ErrInvalid, s.Concurrency)
	}
	if s.Speed < 0 {
		return o, fmt.Errorf("%w: speed %v: want a positive factor (0 or none: as recorded)", inspect.ErrInvalid, s.Speed)
	}
	if s.Diff.Tolerance < 0 {
		return o, fmt.Errorf("%w: tolerance %v: want 0 or more", inspect.ErrInvalid, s.Diff.Tolerance)
	}
	for _, p := range s.Diff.Ignore {
		if strings.TrimSpace(p) == "" {
			// --ignore "$FIELD" with FIELD unset: it would ignore nothing,
			// and the differences it was meant to hide would show.
			return o, fmt.Errorf("%w: ignore path is empty: name a JSON path such as data.created_at", inspect.ErrInvalid)
		}
		if _, err := pathMatchCheck(p); err != nil {
			return o, fmt.Errorf("%w: ignore path %q: %v", inspect.ErrInvalid, p, err)
		}
	}
	n := 0
	if len(s.IDs) > 0 {
		n++
	}
	if s.Filter != nil {
		n++
	}
	if len(s.HAR) > 0 {
		n++
	}
	if n != 1 {
		return o, fmt.Errorf("%w: say what to replay: ids, a filter or a HAR file (one of them)", inspect.ErrInvalid)
	}
	if s.HARFile != "" {
		if len(s.HAR) == 0 {
			return o, fmt.Errorf("%w: har_file names the HAR file given in har, and there is none", inspect.ErrInvalid)
		}
		if name := harBase(s.HARFile); name == "" || len(name) > maxHARFile || strings.ContainsFunc(name, unicode.IsControl) {
			return o, fmt.Errorf("%w: har_file %q: want a file name of 1 to %d bytes, without control characters", inspect.ErrInvalid, s.HARFile, maxHARFile)
		}
	}
	// Check the rest now rather than when the run starts.
	_, err = newRunner(o)
	return o, err
}

// maxHARFile is the longest HAR file name (its base name) a run takes.
const maxHARFile = 255

// harBase returns the base name of the HAR file name, a path written on
// any system (/ or \ between its parts); "" when it names no file.
func harBase(name string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	if name == "." || name == ".." {
		return ""
	}
	return name
}

// maxShownIDs is how many of a run's ids its Selection lists.
const maxShownIDs = 10

// Selection is what a run replays, as it was asked for: exchanges by id,
// a filter, or a HAR file's entries, and the overrides they go with. A
// run's Total counts the requests it selected.
type Selection struct {
	// IDs are the first maxShownIDs (10) exchanges asked for by id;
	// MoreIDs counts the rest.
	IDs     []string `json:"ids,omitempty"`
	MoreIDs int      `json:"more_ids,omitempty"`
	// Filter is the filter the exchanges were selected by ({} is every
	// one recorded, replays aside).
	Filter *Filter `json:"filter,omitempty"`
	// HAR says the requests are a HAR file's entries, and HARFile names
	// that file (its base name), when the run was told it.
	HAR     bool   `json:"har,omitempty"`
	HARFile string `json:"har_file,omitempty"`
	// Overrides say in words what each request had changed: "method PUT",
	// "header Authorization: REDACTED" (secret values REDACTED, as in the
	// run's target), "without header X-Old", "body of 10 bytes".
	Overrides []string `json:"overrides,omitempty"`
	// Text says all of it in a line: "3 exchanges matching bin=stripe;
	// method PUT".
	Text string `json:"text"`
}

// selection describes what s replays, total requests in all, the values
// of secret headers (by inspect.IsSecretHeader with secret) and of
// secret-named query parameters of the path REDACTED.
func (s *Spec) selection(total int, secret []string) Selection {
	var sel Selection
	exchanges := inspect.Count(total, "exchange", "exchanges")
	switch {
	case len(s.HAR) > 0:
		sel.HAR = true
		sel.Text = inspect.Count(total, "entry", "entries") + " of a HAR file"
		if sel.HARFile = harBase(s.HARFile); sel.HARFile != "" {
			sel.Text = inspect.Count(total, "entry", "entries") + " of the HAR file " + sel.HARFile
		}
	case len(s.IDs) > 0:
		sel.IDs = make([]string, 0, min(len(s.IDs), maxShownIDs))
		for _, id := range s.IDs[:min(len(s.IDs), maxShownIDs)] {
			sel.IDs = append(sel.IDs, strings.ToUpper(id)) // as the run's results name them
		}
		sel.MoreIDs = len(s.IDs) - len(sel.IDs)
		if len(s.IDs) == 1 {
			sel.Text = exchanges + ": " + sel.IDs[0]
		} else {
			sel.Text = exchanges + " by id: " + strings.Join(sel.IDs, ", ")
		}
		if sel.MoreIDs > 0 {
			sel.Text += fmt.Sprintf(" and %d more", sel.MoreIDs)
		}
	default:
		var f Filter
		if s.Filter != nil {
			f = *s.Filter
		}
		sel.Filter = &f
		if given := f.given(); len(given) > 0 {
			sel.Text = exchanges + " matching " + strings.Join(given, " ")
		} else {
			sel.Text = exchanges + ": every one recorded (replays aside)"
		}
		if f.Limit > 0 {
			sel.Text += fmt.Sprintf(", the newest %d", f.Limit)
		}
	}
	o := s.Override
	if o.Method != "" {
		sel.Overrides = append(sel.Overrides, "method "+o.Method)
	}
	if o.Path != "" {
		sel.Overrides = append(sel.Overrides, "path "+inspect.ShownURL(o.Path, inspect.QuerySecret(secret)))
	}
	set, _ := inspect.RedactHeaders(o.SetHeaders, secret)
	for _, h := range set {
		sel.Overrides = append(sel.Overrides, "header "+h.Name+": "+h.Value)
	}
	for _, name := range o.RemoveHeaders {
		sel.Overrides = append(sel.Overrides, "without header "+name)
	}
	switch {
	case o.Body != nil:
		sel.Overrides = append(sel.Overrides, "body of "+inspect.Count(len(*o.Body), "byte", "bytes"))
	case o.BodyBase64 != nil:
		sel.Overrides = append(sel.Overrides, "body of "+inspect.Count(base64.StdEncoding.DecodedLen(len(*o.BodyBase64)), "byte", "bytes"))
	}
	if s.Resign {
		sel.Overrides = append(sel.Overrides, "emitted webhooks signed again")
	}
	if len(sel.Overrides) > 0 {
		sel.Text += "; " + strings.Join(sel.Overrides, ", ")
	}
	return sel
}
