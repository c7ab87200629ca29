package proxy

import (
	"net/http"

	"github.com/hooklab/hooklab/inspect"
)

// API returns the simulations API, for main to mount at /api/simulations:
//
//	GET    /api/simulations   the loaded simulations
//	POST   /api/simulations   load a HAR file (the body); ?proxy=NAME&name=&miss=&ignore_query=&ignore_body=
//	DELETE /api/simulations   stop simulating; ?proxy=NAME (default every proxy)
func (s *Simulator) API() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/simulations", s.list)
	mux.HandleFunc("POST /api/simulations", s.load)
	mux.HandleFunc("DELETE /api/simulations", s.stop)
	return inspect.JSONErrors(mux)
}
