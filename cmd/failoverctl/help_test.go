package main

import (
	"bytes"
	"strings"
	"testing"
)

// The token comes from the environment, and --help names where it comes
// from, never its value.
func TestHelpNeverPrintsTheToken(t *testing.T) {
	const secret = "s3cr3t-token-value-4242"
	t.Setenv("FAILOVER_API_TOKEN", secret)
	for _, args := range [][]string{{"--help"}, {"failover", "--help"}, {"drills", "--help"}} {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if strings.Contains(out.String(), secret) {
			t.Fatalf("%v prints the token's value:\n%s", args, out.String())
		}
		if !strings.Contains(out.String(), "$FAILOVER_API_TOKEN") {
			t.Fatalf("%v does not name the token's source:\n%s", args, out.String())
		}
	}
}
