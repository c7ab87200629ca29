package hooklabtest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/hooklab/hooklab/hooklabtest"
)

// exampleT stands in for the *testing.T that a real test passes.
type exampleT struct{ cleanups []func() }

func (*exampleT) Helper()                           {}
func (*exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) Cleanup(f func())                { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) finish() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// A fake webhook receiver: the code under test posts to srv.URL, and the
// test waits for the delivery and looks at it. No sleeps.
func ExampleNewServer() {
	t := &exampleT{} // in a test: the *testing.T
	defer t.finish()

	srv := hooklabtest.NewServer(t, hooklabtest.WithConfig(`
mocks:
  - match:
      method: POST
      path: /hooks/{source}
    respond:
      status: 202
      headers: {Content-Type: application/json}
      body: '{"accepted": "{{request.json.id}}", "from": "{{request.params.source}}"}'
`))

	// The code under test delivers a webhook, some time later.
	go func() {
		time.Sleep(20 * time.Millisecond)
		resp, err := http.Post(srv.URL+"/hooks/billing", "application/json", strings.NewReader(`{"id":"evt_1","type":"invoice.paid"}`))
		if err == nil {
			resp.Body.Close()
		}
	}()

	ex := srv.WaitFor(t, hooklabtest.Request("POST", "/hooks/*"), 5*time.Second)
	fmt.Println(ex.Request.Method, ex.Summarize().Path, string(ex.Request.Body))
	fmt.Println(ex.Response.Status, string(ex.Response.Body))
	// Output:
	// POST /hooks/billing {"id":"evt_1","type":"invoice.paid"}
	// 202 {"accepted": "evt_1", "from": "billing"}
}

// A HAR fixture stands in for a real upstream: the app under test talks to
// srv.URL instead of the payment provider, and repeated requests get the
// recorded answers in order.
func ExampleWithHAR() {
	t := &exampleT{}
	defer t.finish()

	srv := hooklabtest.NewServer(t, hooklabtest.WithHAR("testdata/payments.har"))

	for range 3 {
		resp, err := http.Get(srv.URL + "/v1/payment_intents/pi_1?expand=charges")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println(len(srv.Exchanges(hooklabtest.Request("GET", "/v1/payment_intents/pi_1"))), "requests recorded")
	// Output:
	// 200 {"id":"pi_1","status":"processing","charges":[]}
	// 200 {"id":"pi_1","status":"succeeded","charges":[{"id":"ch_1","paid":true}]}
	// 200 {"id":"pi_1","status":"succeeded","charges":[{"id":"ch_1","paid":true}]}
	// 3 requests recorded
}

// Quick mocks without a config file, and the exchanges a test can inspect.
func ExampleWithMock() {
	t := &exampleT{}
	defer t.finish()

	srv := hooklabtest.NewServer(t,
		hooklabtest.WithMock("GET", "/health", 200, "ok"),
		hooklabtest.WithMock("", "/users/{id}", 404, `{"error": "no user {{request.params.id}}"}`),
	)
	for _, p := range []string{"/health", "/users/7", "/b/audit/anything"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	for _, ex := range srv.Exchanges(nil) {
		fmt.Println(ex.Bin, ex.Request.Method, ex.Summarize().Path, ex.Status(), string(ex.Response.Body) != "")
	}
	fmt.Println(len(srv.Exchanges(hooklabtest.InBin("audit"))), "in bin audit")
	// Output:
	// default GET /health 200 true
	// default GET /users/7 404 true
	// audit GET /b/audit/anything 200 true
	// 1 in bin audit
}

// Replay a HAR fixture against a build of the app and read what changed.
func ExampleServer_Replay() {
	t := &exampleT{}
	defer t.finish()

	// The app under test: this build answers the second GET differently.
	gets := 0
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST":
			io.WriteString(w, `{"id":"pi_2","object":"payment_intent","amount":2000,"status":"processing"}`)
		case strings.HasSuffix(r.URL.Path, ".png"):
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte("not the same picture"))
		default:
			gets++
			status := "processing"
			if gets > 1 {
				status = "failed"
			}
			fmt.Fprintf(w, `{"id":"pi_2","status":%q,"charges":[]}`, status)
		}
	}))
	defer app.Close()

	srv := hooklabtest.NewServer(t)
	rep := srv.Replay(t, "testdata/payments.har", app.URL, hooklabtest.Ignore("id"), hooklabtest.IgnoreHeaders("Request-Id"))
	fmt.Println(rep.Summary)
	for _, r := range rep.Results {
		for _, c := range r.Changes {
			if c.Path == "body" {
				fmt.Println(r.Index, c.Path, "(binary)")
				continue
			}
			fmt.Println(r.Index, c.Path, c.Kind+":", strings.TrimSpace(c.Old+" → "+c.New))
		}
	}
	fmt.Println(len(srv.Exchanges(nil)), "replays recorded")
	// Output:
	// 4 replayed, 2 same, 2 differ, 0 failed
	// 2 body charges.0→ removed: {"id":"ch_1","paid":true} →
	// 2 body status changed: "succeeded" → "failed"
	// 3 body (binary)
	// 4 replays recorded
}
