package vsphere

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config says how to reach vCenter. Password is a secret: it is never
// logged nor put in errors.
type Config struct {
	// URL is the SDK endpoint, e.g. https://vcenter.example/sdk. It must
	// not carry credentials.
	URL      string
	User     string
	Password string
	// Insecure skips TLS certificate verification.
	Insecure bool
	// Timeout bounds each HTTP round trip to vCenter. Default 60s.
	Timeout time.Duration
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = 60 * time.Second
	}
	return c
}

func (c Config) validate() error {
	var problems []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		problems = append(problems, errors.New("url is empty"))
	case err != nil:
		problems = append(problems, errors.New("url does not parse"))
	case u.Scheme != "https" && u.Scheme != "http":
		problems = append(problems, fmt.Errorf("url scheme %q is neither https nor http", u.Scheme))
	case u.User != nil:
		problems = append(problems, errors.New("url must not carry credentials; use User and Password"))
	}
	if c.User == "" {
		problems = append(problems, errors.New("user is empty"))
	}
	if c.Password == "" {
		problems = append(problems, errors.New("password is empty"))
	}
	if c.Timeout < 0 {
		problems = append(problems, fmt.Errorf("timeout %s is negative", c.Timeout))
	}
	return errors.Join(problems...)
}
