package ui

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/hooklab/hooklab/inspect"
)

// TailConfig configures Tail.
type TailConfig struct {
	// Server is the UI listener's base URL, e.g. http://127.0.0.1:4040.
	Server string
	Bin    string
	// Q keeps only the exchanges that match this query (the language of
	// GET /api/exchanges?q=), matched by the server.
	Q string
	// JSON prints each exchange summary as one JSON line.
	JSON bool
	Out  io.Writer
	// Status receives connection notes (connected, reconnecting).
	Status io.Writer
	// Token is the server's --auth token, when it has one.
	Token string
	// Wait, when positive, is how long Tail tries to reach a server that
	// has not answered yet before it gives up (a typo in a script's
	// address). Once connected, it reconnects for as long as ctx lasts.
	Wait time.Duration
	// Silence is how long a connection may bring nothing, not even the
	// server's ping, before tail takes it for dead and reconnects: a
	// server whose machine slept or whose network went leaves no close
	// behind. 3 × DefaultPingInterval when zero.
	Silence time.Duration
}

// DefaultPingInterval is how often the stream pings a client when
// StreamConfig.PingInterval is zero.
const DefaultPingInterval = 20 * time.Second

// Tail follows a running server's stream and prints one line per exchange
// until ctx ends, reconnecting whenever the connection drops.
func Tail(ctx context.Context, cfg TailConfig) error {
	base, err := inspect.ServerURL(cfg.Server)
	// Messages name the server without the password of its user info.
	name := inspect.RedactURL(cfg.Server)
	if err != nil {
		return fmt.Errorf("server %v", err)
	}
	u, err := url.Parse(base + "/api/stream")
	if err != nil {
		return fmt.Errorf("server %v", err)
	}
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	// A websocket URL takes no user info: it goes as basic auth, as Go's
	// HTTP client sends it for the other commands (a front end asking for
	// it); the token, when there is one, is sent instead, as there.
	userinfo := u.User
	u.User = nil
	params := url.Values{}
	if cfg.Bin != "" {
		params.Set("bin", cfg.Bin)
	}
	if cfg.Q != "" {
		params.Set("q", cfg.Q)
	}
	u.RawQuery = params.Encode()
	if cfg.Status == nil {
		cfg.Status = io.Discard
	}
	backoff := 100 * time.Millisecond
	announced := false
	everConnected := false
	var why error // the last attempt's error that was not a timeout
	start := time.Now()
	t := &tailer{cfg: cfg, base: base}
	for {
		hdr := http.Header{}
		if cfg.Token != "" {
			hdr.Set("Authorization", "Bearer "+cfg.Token)
		} else if userinfo != nil {
			pw, _ := userinfo.Password()
			hdr.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(userinfo.Username()+":"+pw)))
		}
		dctx, cancel := ctx, context.CancelFunc(func() {})
		if !everConnected && cfg.Wait > 0 {
			// The wait bounds each attempt too: an address that accepts and
			// never answers would hold one for the handshake's 45 s.
			dctx, cancel = context.WithDeadline(ctx, start.Add(cfg.Wait))
		}
		// gorilla's dialer takes ctx as a deadline only: a server that
		// accepts and never answers (one starting up) held Ctrl-C for
		// the handshake's 45 s. Closing the connection ends it. (On our
		// ctx: the one gorilla passes to NetDialContext ends when its
		// DialContext returns, which closed every connection made.)
		var dialed atomic.Pointer[net.Conn]
		d := *websocket.DefaultDialer
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				dialed.Store(&c)
			}
			return c, err
		}
		stopClose := context.AfterFunc(dctx, func() {
			if c := dialed.Load(); c != nil {
				(*c).Close()
			}
		})
		conn, resp, err := d.DialContext(dctx, u.String(), hdr)
		cutOff := dctx.Err() == context.DeadlineExceeded // by --wait (its connection closed under it)
		stopClose()
		cancel()
		if err != nil && resp != nil && resp.Header.Get("Server") != "hooklab" {
			// Something answered that is not hooklab's UI (its answers say
			// Server: hooklab): the capture port, say, which would record
			// every retry.
			return fmt.Errorf("tail: %w", inspect.NotUI(cfg.Server, resp.Status))
		}
		if err != nil && resp != nil && resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("tail: %s has no stream at %s: give the UI's address without a path, like http://127.0.0.1:4040", name, u.Path)
		}
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusBadRequest) {
			// Retrying cannot help: say what is wrong.
			var e struct{ Error string }
			_ = json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&e)
			switch {
			case resp.StatusCode == http.StatusUnauthorized && cfg.Token == "":
				return fmt.Errorf("tail: %s wants a token: set HOOKLAB_AUTH", name)
			case resp.StatusCode == http.StatusUnauthorized:
				return fmt.Errorf("tail: %s refused the token in HOOKLAB_AUTH", name)
			}
			return fmt.Errorf("tail: %s refused the stream (%s): %s", name, resp.Status, e.Error)
		}
		if err == nil {
			err = t.follow(ctx, conn, func() {
				backoff = 100 * time.Millisecond
				fmt.Fprintf(cfg.Status, "tail: connected to %s\n", name)
				announced, everConnected = false, true
			})
			conn.Close()
		}
		if ctx.Err() != nil {
			return nil
		}
		var ne net.Error
		timedOut := cutOff || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
		if err != nil && !timedOut {
			why = err
		}
		if !everConnected && cfg.Wait > 0 && time.Since(start) >= cfg.Wait {
			if timedOut {
				// The attempt --wait cut off: why the others failed says
				// more, if one did otherwise.
				err = why
				if err == nil {
					err = errors.New("no answer")
				}
			}
			return fmt.Errorf("tail: no hooklab answered at %s within %v: %w", name, cfg.Wait, err)
		}
		if !announced {
			switch {
			case everConnected:
				fmt.Fprintf(cfg.Status, "tail: %v; reconnecting\n", err)
			case cfg.Wait > 0:
				fmt.Fprintf(cfg.Status, "tail: %v; waiting up to %v for hooklab to start\n", err, cfg.Wait)
			default:
				fmt.Fprintf(cfg.Status, "tail: %v; waiting for hooklab to start (--wait 10s gives up after 10s)\n", err)
			}
			announced = true
		}
		pause := backoff
		if !everConnected && cfg.Wait > 0 {
			// Not past --wait: the next attempt, at its end, fails at once.
			pause = max(min(pause, time.Until(start.Add(cfg.Wait))), 0)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// tailer prints exchanges once each, in order, across reconnections.
type tailer struct {
	cfg  TailConfig
	base string
	// last is the id of the exchange printed last (at first, the newest
	// stored when tail first connected): after a reconnection or a
	// resync, what the server stored after it is read from the API.
	last string
	// anchored: last has been set, possibly to "" (the store was empty).
	anchored bool
	// caught holds the ids the latest catch-up printed, which the stream
	// may bring again. (Ids are not in arrival order: an id is taken when
	// a request starts, and a slow one arrives after faster ones.)
	caught map[string]bool
}

// follow prints what conn streams, after what the server stored while
// tail was away (or fell behind), until the connection ends. It calls
// connected once the server's hello says the stream is live: the server
// subscribes after the handshake, so what is stored between the two would
// otherwise be missed.
func (t *tailer) follow(ctx context.Context, conn *websocket.Conn, connected func()) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	silence := t.cfg.Silence
	if silence <= 0 {
		silence = 3 * DefaultPingInterval
	}
	alive := func() { _ = conn.SetReadDeadline(time.Now().Add(silence)) }
	// The server's pings are its word that it is there: each moves the
	// deadline on, and is answered as gorilla's own handler does.
	conn.SetPingHandler(func(data string) error {
		alive()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return err
			}
		}
		return nil
	})
	alive()
	_, msg, err := conn.ReadMessage()
	if err != nil {
		return err
	}
	if !strings.Contains(string(msg), `"hello"`) {
		return fmt.Errorf("the stream did not begin with hello: %.100s", msg)
	}
	// Live first, then caught up, so nothing falls between the two: what
	// the stream brings again is skipped by id.
	switch {
	case !t.anchored:
		// The first connection: tail prints what comes from now on, and
		// remembers where that was in case the server goes away before
		// anything does (before it says it is connected, so that nothing
		// sent after that is taken for what was there before).
		t.anchored = t.anchor(ctx)
		connected()
	default:
		connected()
		if !t.catchUp(ctx) {
			fmt.Fprintln(t.cfg.Status, "tail: could not read all that the server stored while tail was away; some exchanges were skipped")
		}
	}
	for {
		alive()
		_, msg, err := conn.ReadMessage()
		if err != nil {
			if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("the server sent nothing, not even a ping, for %v", silence)
			}
			return err
		}
		var m struct {
			Type     string          `json:"type"`
			Exchange json.RawMessage `json:"exchange"`
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			continue
		}
		switch m.Type {
		case "exchange":
			t.print(m.Exchange, false)
		case "resync":
			if !t.anchored || !t.catchUp(ctx) {
				fmt.Fprintln(t.cfg.Status, "tail: fell behind the server; some exchanges were skipped")
			}
		}
	}
}

// print prints one exchange summary, from the stream or (caught) from a
// catch-up, unless the catch-up printed it already.
func (t *tailer) print(raw json.RawMessage, caught bool) {
	var s inspect.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		return
	}
	switch {
	case caught:
		t.caught[s.ID] = true
	case t.caught[s.ID]:
		delete(t.caught, s.ID)
		return
	}
	if t.cfg.JSON {
		fmt.Fprintf(t.cfg.Out, "%s\n", raw)
	} else {
		fmt.Fprintln(t.cfg.Out, FormatLine(s))
	}
	t.last, t.anchored = s.ID, true
}

// anchor sets last to the newest exchange stored (of the bin, matching
// the query or not: a position to go on from), if any, and reports
// whether it could read it.
func (t *tailer) anchor(ctx context.Context) bool {
	var page struct {
		Exchanges []inspect.Summary `json:"exchanges"`
	}
	q := url.Values{"limit": {"1"}}
	if t.cfg.Bin != "" {
		q.Set("bin", t.cfg.Bin)
	}
	if !t.get(ctx, q, &page) {
		return false
	}
	if len(page.Exchanges) > 0 && t.last == "" {
		t.last = page.Exchanges[0].ID
	}
	return true
}

// get reads GET /api/exchanges?q into v and reports whether it could.
func (t *tailer) get(ctx context.Context, q url.Values, v any) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+"/api/exchanges?"+q.Encode(), nil)
	if err != nil {
		return false
	}
	if t.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+t.cfg.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v) == nil && resp.StatusCode == http.StatusOK
}

// catchUp prints the exchanges stored after the last one printed, oldest
// first, and reports whether it read them all.
func (t *tailer) catchUp(ctx context.Context) bool {
	t.caught = map[string]bool{}
	cursor := ""
	for range 100 { // at most 100 pages: beyond that, say some were skipped
		q := url.Values{"order": {"asc"}, "limit": {"1000"}}
		if t.last != "" { // else the store was empty when tail started
			q.Set("after", t.last)
		}
		if t.cfg.Bin != "" {
			q.Set("bin", t.cfg.Bin)
		}
		if t.cfg.Q != "" {
			q.Set("q", t.cfg.Q)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Exchanges []json.RawMessage `json:"exchanges"`
			Next      string            `json:"next"`
		}
		if !t.get(ctx, q, &page) {
			return false
		}
		for _, raw := range page.Exchanges {
			t.print(raw, true)
		}
		// A page of a --q the store cannot filter by may hold no match
		// and still have a next: only the end of the list ends this.
		if page.Next == "" {
			return true
		}
		cursor = page.Next
	}
	return false
}

// FormatLine renders a summary as `time method path status size duration`
// (for a CONNECT, host:port in place of the path).
func FormatLine(s inspect.Summary) string {
	t, err := time.Parse(time.RFC3339Nano, s.Time)
	ts := s.Time
	if err == nil {
		ts = t.Local().Format("15:04:05.000")
	}
	status := "-"
	if s.Status != 0 {
		status = fmt.Sprint(s.Status)
	}
	path := s.Path
	if u, err := url.Parse(s.URL); err == nil {
		switch {
		case path != "":
		case s.Method == http.MethodConnect:
			// A forward proxy's CONNECT: its target is host:port, as
			// its request line had it (the line keeps its fields).
			path = u.Host
		default:
			// An absolute-form request without a path (GET
			// http://h?x=1 to a forward proxy) went to /, as Go sends
			// it on: the host is no path.
			path = "/"
		}
		if u.RawQuery != "" {
			path += "?" + u.RawQuery
		}
	}
	return fmt.Sprintf("%s %-7s %s %s %s %s", ts, s.Method, printable(path), status, FormatSize(s.RequestSize), formatMS(s.DurationMS))
}

// printable percent-encodes what a terminal would act on or what would
// split a tail line's fields: spaces, C0 and C1 controls, DEL, and bytes
// that are not UTF-8 (0x9b alone is CSI to a terminal that is not in
// UTF-8). A query keeps its bytes as sent (and a URL url.Parse refuses,
// which only a HAR file's can be, is the path whole), so a sender could
// otherwise set the title, colours or clipboard of the terminal tail
// prints to.
func printable(s string) string {
	var b strings.Builder
	copied := 0 // s[:copied] is in b
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == ' ' || r < 0x20 || r >= 0x7f && r < 0xa0 || r == utf8.RuneError && n == 1 {
			b.WriteString(s[copied:i])
			for _, c := range []byte(s[i : i+n]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
			copied = i + n
		}
		i += n
	}
	if copied == 0 {
		return s
	}
	b.WriteString(s[copied:])
	return b.String()
}

// FormatSize renders a byte count briefly: 512B, 1.5KiB, 3.2MiB.
func FormatSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%dB", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1fKiB", float64(n)/1024)
	case n < 1<<30:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
}

func formatMS(ms float64) string {
	if ms < 10 {
		return fmt.Sprintf("%.2fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}
