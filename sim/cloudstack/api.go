package cloudstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CloudStack's API error codes used by the sim.
const (
	CodeUnauthorized = 401
	CodeParamError   = 431
	CodeUnsupported  = 432
	CodeInternal     = 530
	// CodeAccountError is ApiErrorCode.ACCOUNT_ERROR, the code of a
	// PermissionDeniedException (AccountManagerImpl.checkAccess).
	CodeAccountError = 531
)

// CloudStack's exception codes (cserrorcode).
const (
	csInvalidParameter = 4350
	csCloudRuntime     = 4250
	csPermissionDenied = 4365
	csServerAPI        = 9999
)

// timeFormat is CloudStack's timestamp format.
const timeFormat = "2006-01-02T15:04:05-0700"

// apiError is an error answered in CloudStack's error envelope.
type apiError struct {
	code   int
	cscode int
	text   string
}

func paramErr(format string, args ...any) *apiError {
	return &apiError{code: CodeParamError, cscode: csInvalidParameter, text: fmt.Sprintf(format, args...)}
}

func stateErr(format string, args ...any) *apiError {
	return &apiError{code: CodeInternal, cscode: csCloudRuntime, text: fmt.Sprintf(format, args...)}
}

// permErr is a PermissionDeniedException (531).
func permErr(format string, args ...any) *apiError {
	return &apiError{code: CodeAccountError, cscode: csPermissionDenied, text: fmt.Sprintf(format, args...)}
}

func missingParam(cmd, name string) *apiError {
	return paramErr("Unable to execute API command %s due to missing parameter %s", cmd, name)
}

func noEntity(cmd, name, value string) *apiError {
	return paramErr("Unable to execute API command %s due to invalid value. Invalid parameter %s value=%s due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.", cmd, name, value)
}

// request is one API request's parameters.
type request struct {
	cmd    string // lower case
	params url.Values
}

func (r request) get(k string) string { return r.params.Get(k) }

func (r request) require(k string) (string, *apiError) {
	v := r.params.Get(k)
	if v == "" {
		return "", missingParam(r.cmd, k)
	}
	return v, nil
}

func (r request) boolean(k string, def bool) bool {
	switch strings.ToLower(r.params.Get(k)) {
	case "true":
		return true
	case "false":
		return false
	default:
		return def
	}
}

// handler answers one command; it returns the inner response object.
type handler func(s *Sim, r request) (map[string]any, *apiError)

var handlers = map[string]handler{
	"listzones":              (*Sim).listZones,
	"listnetworks":           (*Sim).listNetworks,
	"listserviceofferings":   (*Sim).listServiceOfferings,
	"listtemplates":          (*Sim).listTemplates,
	"deployvirtualmachine":   (*Sim).deployVM,
	"listvirtualmachines":    (*Sim).listVMs,
	"startvirtualmachine":    (*Sim).startVM,
	"stopvirtualmachine":     (*Sim).stopVM,
	"destroyvirtualmachine":  (*Sim).destroyVM,
	"listvolumes":            (*Sim).listVolumes,
	"attachvolume":           (*Sim).attachVolume,
	"detachvolume":           (*Sim).detachVolume,
	"deletevolume":           (*Sim).deleteVolume,
	"liststoragepools":       (*Sim).listStoragePools,
	"addnictovirtualmachine": (*Sim).addNIC,
	"listcapabilities":       (*Sim).listCapabilities,
	"createsnapshot":         (*Sim).createSnapshot,
	"revertsnapshot":         (*Sim).revertSnapshot,
	"deletesnapshot":         (*Sim).deleteSnapshot,
	"listsnapshots":          (*Sim).listSnapshots,
	"queryasyncjobresult":    (*Sim).queryAsyncJobResult,
}

func normCmd(c string) string { return strings.ToLower(c) }

func (s *Sim) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	if err := hr.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	r := request{cmd: normCmd(hr.Form.Get("command")), params: hr.Form}
	respKey := r.cmd + "response"
	s.mu.Lock()
	s.calls[r.cmd]++
	s.mu.Unlock()

	if !s.authenticate(r.params) {
		writeError(w, respKey, &apiError{code: CodeUnauthorized, text: errBadCredentials})
		return
	}
	f := s.pickFault(r.cmd)
	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		select {
		case <-t.C:
		case <-hr.Context().Done():
			t.Stop()
			return
		case <-s.closed:
			t.Stop()
			return
		}
	}
	for _, ch := range f.held {
		select {
		case <-ch:
		case <-hr.Context().Done():
			return
		case <-s.closed:
			return
		}
	}
	if f.hang {
		select {
		case <-hr.Context().Done():
		case <-s.closed:
		}
		return
	}
	if f.fail != nil {
		writeError(w, respKey, &apiError{code: f.fail.status, cscode: csServerAPI, text: f.fail.text})
		return
	}
	h, ok := handlers[r.cmd]
	if !ok {
		writeError(w, respKey, &apiError{code: CodeUnsupported, cscode: csServerAPI,
			text: fmt.Sprintf("The given command:%s does not exist or it is not available for user", hr.Form.Get("command"))})
		return
	}
	body, aerr := h(s, r)
	if aerr != nil {
		s.mu.Lock()
		s.refusals = append(s.refusals, Refusal{Command: r.cmd, Code: aerr.code, Text: aerr.text})
		s.mu.Unlock()
		writeError(w, respKey, aerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{respKey: body})
}

func writeError(w http.ResponseWriter, respKey string, e *apiError) {
	body := map[string]any{"uuidList": []string{}, "errorcode": e.code, "errortext": e.text}
	if e.code == CodeUnauthorized {
		body = map[string]any{"errorcode": e.code, "errortext": e.text}
	} else if e.cscode != 0 {
		body["cserrorcode"] = e.cscode
	}
	status := e.code
	if status < 100 || status > 599 {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, map[string]any{respKey: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// listResponse builds a list answer: {"count":n,"<key>":[…]} or {} when empty.
func listResponse(key string, items []map[string]any) map[string]any {
	if len(items) == 0 {
		return map[string]any{}
	}
	return map[string]any{"count": len(items), key: items}
}

// listedFor reports whether a list call shows an object of account: with
// listall=true every object the caller may see (the sim's one key sees
// all), without it only the caller's own, as BaseListAccountResourcesCmd's
// listAll ("If set to false, list only resources belonging to the
// command's caller") says. Callers hold s.mu.
func (s *Sim) listedFor(r request, account string) bool {
	return r.boolean("listall", false) || account == "" || account == s.cfg.Account
}
