package lab

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// randomKey returns a fresh CloudStack-style API or secret key: 64 random
// bytes, URL-safe base64 without padding.
func randomKey() (string, error) {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a cloudstack key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
