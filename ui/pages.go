package ui

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"

	"github.com/ossea/unifiedfailover/auth"
)

//go:embed templates
var templateFS embed.FS

// pages are the parsed templates: each page with the layout, and the
// partials on their own.
type pages struct{ byName map[string]*template.Template }

// pageNames are the pages that use the layout (templates/<name>.html).
var pageNames = []string{"login", "vms", "vm", "jobs", "job", "audit", "error", "plan"}

func loadPages() *pages {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range pageNames {
		p.byName[n] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+n+".html"))
	}
	p.byName["partials"] = base
	return p
}

// view is what every page gets.
type view struct {
	Title string
	Me    auth.Principal
	// LoggedIn: Me is a session's principal.
	LoggedIn bool
	// CSRF is the session's CSRF token for the forms.
	CSRF string
	// Nav is the current section (vms, jobs, audit).
	Nav  string
	Data any
}

// Can reports whether the session's role allows role: the templates show
// an action only then (the API refuses it anyway).
func (v view) Can(role string) bool { return v.Me.Role.Allows(auth.Role(role)) }

// render writes page name (the layout around it), or the partial name
// when partial is true.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	s := sessionOf(r)
	if s.token != "" {
		v.Me, v.LoggedIn, v.CSRF = s.who, true, c.csrf.token(s.token)
	}
	t, exec := c.pages.byName[name], "layout.html"
	if t == nil {
		t, exec = c.pages.byName["partials"], name
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, exec, v); err != nil {
		c.log.ErrorContext(r.Context(), "console: rendering", "page", name, "error", err)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail shows an error page with status.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", view{Title: http.StatusText(status), Data: struct {
		Status  int
		Message string
	}{status, msg}})
}

// failErr shows err: an API error with the API's status and message.
func (c *Console) failErr(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		c.fail(w, r, ae.Status, ae.Message)
		return
	}
	c.log.ErrorContext(r.Context(), "console", "error", err)
	c.fail(w, r, http.StatusInternalServerError, err.Error())
}
