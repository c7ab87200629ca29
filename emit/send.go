package emit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// Send posts one event to a running hooklab's API (POST {apiBase}/api/events),
// as "hooklab send TYPE --data @file.json" does, and returns the invocations
// it queued. apiBase is the UI/API listener's URL, such as
// http://127.0.0.1:4040; token is its --auth token ("" for none). data is
// the event's JSON object (nil for {}).
func Send(ctx context.Context, apiBase, token, typ string, data json.RawMessage) (*EventsResponse, error) {
	if why := checkEventType(typ); why != "" {
		return nil, errors.New(why)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = json.RawMessage(`{}`)
	}
	// The data as written: json.Marshal would write <, > and & in it as
	// \u003c, \u003e and \u0026, and so would a subscription's detail.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Event{Type: typ, Data: data}); err != nil {
		return nil, fmt.Errorf("event data: %w", err)
	}
	body := buf.Bytes()
	url := strings.TrimSuffix(apiBase, "/") + "/api/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("is hooklab running at %s? %w", inspect.RedactURL(apiBase), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Header.Get("Server") != "hooklab" && resp.StatusCode != http.StatusAccepted:
		// The capture port (which recorded this as a capture; it
		// answers 200) or another program. (A front end may put its
		// own name in Server: a 202 is hooklab's queued events.)
		return nil, inspect.NotUI(apiBase, resp.Status)
	case resp.StatusCode == http.StatusUnauthorized && token == "":
		// The server's own message names its --auth flag, which send
		// does not have.
		return nil, fmt.Errorf("hooklab at %s wants a token: set HOOKLAB_AUTH (401)", inspect.RedactURL(apiBase))
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, fmt.Errorf("hooklab at %s refused the token in HOOKLAB_AUTH (401)", inspect.RedactURL(apiBase))
	}
	if resp.StatusCode != http.StatusAccepted {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			if err := inspect.NoAPIAt(resp.Request.URL, resp.StatusCode, e.Error); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("hooklab answered %d: %s", resp.StatusCode, e.Error)
		}
		return nil, fmt.Errorf("hooklab answered %s", resp.Status)
	}
	var res EventsResponse
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	return &res, nil
}

// ReadData reads the --data of "hooklab send": "@FILE" reads a file, "-"
// or "@-" (as curl has it) reads stdin, anything else is the JSON itself.
// A UTF-8 byte order mark before it is skipped. The result must be a JSON
// object: "" or an empty file is an error, as a list or a string is.
func ReadData(arg string, stdin io.Reader) (json.RawMessage, error) {
	var b []byte
	var err error
	name := "--data" // where the JSON came from, for the errors
	switch {
	case arg == "-" || arg == "@-":
		b, err = io.ReadAll(stdin)
		name = "--data (standard input)"
	case strings.HasPrefix(arg, "@"):
		b, err = os.ReadFile(arg[1:])
		name = "--data " + arg
	default:
		b = []byte(arg)
	}
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	// Notepad and PowerShell on Windows begin a UTF-8 file with a byte
	// order mark, which JSON decoding reads as the character 'ï'.
	raw := bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.TrimSpace(raw)
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s is empty; it must be a JSON object (leave --data out to send {})", inspect.ErrInvalid, name)
	}
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// Where, in the text as written: the spaces trimmed
			// before it count.
			lead := len(raw) - len(bytes.TrimLeft(raw, " \t\r\n"))
			line, col := inspect.LineCol(raw, int64(lead)+se.Offset)
			return nil, fmt.Errorf("%w: %s must be a JSON object: malformed JSON at line %d, column %d: %v", inspect.ErrInvalid, name, line, col, err)
		}
		return nil, fmt.Errorf("%w: %s must be a JSON object: %v", inspect.ErrInvalid, name, err)
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("%w: %s must be a JSON object, not %s", inspect.ErrInvalid, name, jsonValueKind(b))
	}
	return json.RawMessage(b), nil
}
