package ui

import (
	"net/http"
	"strings"
)

type loginData struct {
	Next  string
	Error string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", view{Title: "Log in", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

// login checks the token as the API does and, when it is valid, keeps it
// in the session cookie.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !SameOrigin(r) {
		c.fail(w, r, http.StatusForbidden, "this request comes from another site")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	if _, err := c.authn(token); token == "" || err != nil {
		c.render(w, r, http.StatusUnauthorized, "login", view{Title: "Log in", Data: loginData{Next: next, Error: "That token is not valid."}})
		return
	}
	setSession(w, r, token)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	clearSession(w, r)
	http.Redirect(w, r, Path+"/login", http.StatusSeeOther)
}
