package cloudstack

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
	"time"
)

// errBadCredentials is CloudStack's text for a wrong key or signature.
const errBadCredentials = "unable to verify user credentials and/or request signature"

// Sign returns CloudStack's signature of params (all but "signature"):
// sorted key=value pairs with values query-escaped ('+' as %20, '*' kept),
// lower-cased, HMAC-SHA1 with secret, standard base64.
func Sign(params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	for _, k := range keys {
		for _, v := range params[k] {
			if buf.Len() > 0 {
				buf.WriteByte('&')
			}
			e := url.QueryEscape(v)
			e = strings.ReplaceAll(e, "+", "%20")
			e = strings.ReplaceAll(e, "%2A", "*")
			buf.WriteString(k + "=" + e)
		}
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(strings.ToLower(buf.String())))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// authenticate reports whether params carry the sim's API key, a valid
// signature and, when present, an unexpired "expires".
func (s *Sim) authenticate(params url.Values) bool {
	if params.Get("apiKey") != s.cfg.APIKey {
		return false
	}
	sig := params.Get("signature")
	if sig == "" {
		return false
	}
	want := Sign(params, s.cfg.SecretKey)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return false
	}
	if exp := params.Get("expires"); exp != "" {
		if params.Get("signatureversion") != "3" {
			return false
		}
		t, err := time.Parse(time.RFC3339, exp)
		if err != nil {
			t, err = time.Parse("2006-01-02T15:04:05-0700", exp)
		}
		if err != nil || time.Now().After(t) {
			return false
		}
	}
	return true
}
