package ui

import "net/http"

// Handler serves the console under Path (mount it at Path: it sees the
// full path).
func (c *Console) Handler() http.Handler {
	m := http.NewServeMux()
	page := func(h http.HandlerFunc) http.HandlerFunc { return c.withSession(h) }
	act := func(h http.HandlerFunc) http.HandlerFunc { return c.withSession(c.withCSRF(h)) }

	m.Handle("GET "+Path+"/assets/", assets())
	m.HandleFunc("GET "+Path+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Path+"/vms", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+Path+"/login", c.loginForm)
	m.HandleFunc("POST "+Path+"/login", c.login)
	m.HandleFunc("POST "+Path+"/logout", act(c.logout))

	m.HandleFunc("GET "+Path+"/vms", page(c.vmList))
	m.HandleFunc("GET "+Path+"/vms/{id}", page(c.vmDetail))
	m.HandleFunc("GET "+Path+"/vms/{id}/plan", page(c.plan))
	m.HandleFunc("POST "+Path+"/vms/{id}/failover", act(c.startFailover))
	m.HandleFunc("POST "+Path+"/vms/{id}/mappings", act(c.saveMappings))
	m.HandleFunc("GET "+Path+"/jobs", page(c.jobList))
	m.HandleFunc("GET "+Path+"/jobs/{id}", page(c.jobPage))
	m.HandleFunc("GET "+Path+"/jobs/{id}/live", page(c.jobLive))
	m.HandleFunc("POST "+Path+"/jobs/{id}/{action}", act(c.jobAction))
	m.HandleFunc("GET "+Path+"/audit", page(c.audit))
	m.HandleFunc(Path+"/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, "no page "+r.URL.Path)
	})
	return secure(m)
}
