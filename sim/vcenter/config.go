package vcenter

import (
	"errors"
	"fmt"
)

// Config configures a simulated vCenter. The zero value is usable after
// WithDefaults.
type Config struct {
	// User is the only user name the simulator accepts at login.
	// Default "administrator@vsphere.local".
	User string
	// Password is the only password the simulator accepts at login.
	// Default "lab-password".
	Password string
	// PlainHTTP serves http:// instead of https:// (with a self-signed
	// certificate). Default false: HTTPS, clients must skip verification.
	PlainHTTP bool
	// CBTPageSize is the most bytes of a disk one QueryChangedDiskAreas
	// answer covers; clients page with startOffset to cover the rest, as
	// with a real vCenter. Default 64 MiB.
	CBTPageSize int64
}

// DefaultCBTPageSize is the default Config.CBTPageSize.
const DefaultCBTPageSize = 64 << 20

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.User == "" {
		c.User = "administrator@vsphere.local"
	}
	if c.Password == "" {
		c.Password = "lab-password"
	}
	if c.CBTPageSize == 0 {
		c.CBTPageSize = DefaultCBTPageSize
	}
	return c
}

func (c Config) validate() error {
	var problems []error
	if c.User == "" {
		problems = append(problems, errors.New("user is empty"))
	}
	if c.Password == "" {
		problems = append(problems, errors.New("password is empty"))
	}
	if c.CBTPageSize < 512 || c.CBTPageSize%512 != 0 {
		problems = append(problems, fmt.Errorf("cbt page size %d is not a positive multiple of 512", c.CBTPageSize))
	}
	return errors.Join(problems...)
}
