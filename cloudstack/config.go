package cloudstack

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config configures a Client. Credentials come from configuration, never
// from code, and are never logged.
type Config struct {
	// URL is the API endpoint, for example https://cloud.example/client/api.
	URL string
	// APIKey and SecretKey are the account's API credentials.
	APIKey    string
	SecretKey string
	// ZoneID is the zone VMs are deployed into and lists are narrowed to.
	ZoneID string
	// HTTPTimeout bounds one HTTP request; 30 s when zero. The caller's
	// context deadline applies as well.
	HTTPTimeout time.Duration
	// PollInterval is the first wait between async job polls; 2 ms when
	// zero. It doubles up to MaxPollInterval (1 s when zero): a job that
	// ends at once costs no idle wait, and a long one is polled about once a
	// second after ten quick polls.
	PollInterval    time.Duration
	MaxPollInterval time.Duration
	// InsecureSkipVerify disables TLS certificate checks (lab only).
	InsecureSkipVerify bool
}

// WithDefaults returns the config with defaults filled in.
func (c Config) WithDefaults() Config {
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = 30 * time.Second
	}
	if c.PollInterval == 0 {
		c.PollInterval = 2 * time.Millisecond
	}
	if c.MaxPollInterval == 0 {
		c.MaxPollInterval = time.Second
	}
	if c.MaxPollInterval < c.PollInterval {
		c.MaxPollInterval = c.PollInterval
	}
	return c
}

func (c Config) validate() error {
	var problems []error
	if c.URL == "" {
		problems = append(problems, errors.New("URL is required"))
	} else if u, err := url.Parse(c.URL); err != nil || u.Scheme == "" || u.Host == "" {
		problems = append(problems, fmt.Errorf("URL %q is not an absolute URL", c.URL))
	}
	if c.APIKey == "" {
		problems = append(problems, errors.New("APIKey is required"))
	}
	if c.SecretKey == "" {
		problems = append(problems, errors.New("SecretKey is required"))
	}
	if c.HTTPTimeout < 0 || c.PollInterval < 0 || c.MaxPollInterval < 0 {
		problems = append(problems, errors.New("durations must not be negative"))
	}
	return errors.Join(problems...)
}
