package vcenter

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// intercept wraps the simulator's handler: it injects planned failures,
// answers the SOAP calls vcsim lacks or gets wrong for the lab
// (QueryChangedDiskAreas; ShutdownGuest without tools or on a guest that
// ignores it), stamps change ids on disks before snapshots, and passes
// everything else through.
func (s *Server) intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, s.model.Map().Path) {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			http.Error(w, "reading request body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		method, err := simulator.UnmarshalBody(types.TypeFunc(), body)
		if err != nil {
			next.ServeHTTP(w, r) // let vcsim answer the malformed request
			return
		}
		if d := s.delay(method.Name); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if inj, ok := s.takeFailure(method.Name); ok {
			inj.write(w, method.Name)
			return
		}
		switch method.Name {
		case "QueryChangedDiskAreas":
			if !s.authenticated(r) {
				writeNotAuthenticated(w, method.This)
				return
			}
			s.serveQueryChangedDiskAreas(w, method)
			return
		case "ShutdownGuest":
			if !s.authenticated(r) {
				writeNotAuthenticated(w, method.This)
				return
			}
			if s.serveShutdownGuest(w, method.This) {
				return
			}
		case "CreateSnapshot_Task", "CreateSnapshotEx_Task":
			if s.authenticated(r) {
				s.stampChangeIDs(method.This)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authenticated reports whether r carries the cookie of a live session of
// the configured user.
func (s *Server) authenticated(r *http.Request) bool {
	c, err := r.Cookie(soap.SessionCookieName)
	if err != nil || c.Value == "" {
		return false
	}
	res := s.model.Map().SessionManager().SessionIsActive(s.lockingContext(),
		&types.SessionIsActive{SessionID: c.Value, UserName: s.User})
	body, ok := res.(*methods.SessionIsActiveBody)
	return ok && body.Res != nil && body.Res.Returnval
}

func writeNotAuthenticated(w http.ResponseWriter, this types.ManagedObjectReference) {
	writeFault(w, "The session is not authenticated.", &types.NotAuthenticated{
		NoPermission: types.NoPermission{Object: &this, PrivilegeId: "System.View"},
	})
}
