package mock

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/hooklab/hooklab/inspect"
)

// API returns the handler of the rules endpoints:
//
//	GET  /api/rules        the live config, where each rule came from, how
//	                       many requests each matched, the last reload error
//	POST /api/rules/reset  start every sequence again and clear rate limits
//
// The config is shown with the values of secret headers (inspect.IsSecretHeader
// with secretHeaders) and URL passwords and secret query values REDACTED.
func (e *Engine) API(log *slog.Logger, secretHeaders []string) http.Handler {
	secret := func(name string) bool { return inspect.IsSecretHeader(name, secretHeaders) }
	shown := func(u string) string { return inspect.ShownURL(u, secret) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/rules", inspect.OnlyParams(log, func(w http.ResponseWriter, r *http.Request) {
		cfg := e.Config()
		hits, vhits := e.Hits(), e.verifyHits()
		type ruleInfo struct {
			Name   string `json:"name"`
			Kind   string `json:"kind"`
			Source string `json:"source,omitempty"`
			Hits   int64  `json:"hits"`
		}
		out := map[string]any{"file": nil, "config": nil, "rules": []ruleInfo{}, "error": nil}
		if cfg != nil {
			list := make([]ruleInfo, 0, len(cfg.Mocks)+len(cfg.Verify))
			for _, m := range cfg.Mocks {
				list = append(list, ruleInfo{Name: m.Name, Kind: "mock", Source: src(m.File, m.Line), Hits: hits[m.StateKey()]})
			}
			for _, v := range cfg.Verify {
				list = append(list, ruleInfo{Name: v.Name, Kind: "verify", Source: src(v.File, v.Line), Hits: vhits[v.Name]})
			}
			out["file"], out["config"], out["rules"] = cfg.File, cfg.Redacted(secret, shown), list
		}
		if err := e.LastError(); err != nil {
			out["error"] = err.Error()
		}
		inspect.WriteJSON(w, http.StatusOK, out)
	}))
	mux.HandleFunc("POST /api/rules/reset", inspect.OnlyParams(log, func(w http.ResponseWriter, r *http.Request) {
		e.Reset()
		inspect.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
	}))
	return inspect.JSONErrors(mux)
}

func src(file string, line int) string {
	if file == "" {
		return ""
	}
	return file + ":" + strconv.Itoa(line)
}
