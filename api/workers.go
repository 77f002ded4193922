package api

import (
	"net/http"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// listWorkers answers the live workers and what each can run (their
// heartbeats; pre-flight's worker-capabilities check reads the same).
func (s *Server) listWorkers(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.store.LiveWorkers(r.Context())
	if err != nil {
		return err
	}
	out := apiv1.WorkerList{Workers: make([]apiv1.Worker, 0, len(ws))}
	for _, wk := range ws {
		out.Workers = append(out.Workers, workerOut(wk))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
