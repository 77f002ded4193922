package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCtlPlans defines recovery plans with the built failoverctl against a
// real stack and the lab: a YAML plan with a dependency cycle is refused
// naming its members (and nothing is stored); a 2-wave plan of the lab's
// VMs is created, shown and valid for test and live runs; an edit sends
// the version it read; delete needs --yes and the admin role.
func TestCtlPlans(t *testing.T) {
	t.Parallel()
	e := setupCtl(t)
	vm0, vm1 := e.lab.VMs[0].Name, e.lab.VMs[1].Name
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	cycle := write("cycle.yaml", fmt.Sprintf(`name: loop
waves:
  - members:
      - {vm: %[1]s, depends_on: [{member: %[2]s}]}
      - {vm: %[2]s, depends_on: [{member: %[1]s}]}
`, vm0, vm1))
	out, code := e.run(t, e.operator, "plans", "create", "-f", cycle)
	if code != 2 || !strings.Contains(out, "BLOCKER waves[0].members ["+vm0+", "+vm1+", "+vm0+"]") ||
		!strings.Contains(out, "the dependencies of "+vm0+", "+vm1+" form a cycle") {
		t.Fatalf("a cycle: exit %d, want 2 naming %s and %s:\n%s", code, vm0, vm1, out)
	}

	good := write("shop.yaml", fmt.Sprintf(`name: shop
max_parallel_vms: 2
waves:
  - name: db
    members:
      - vm: %s
        readiness: {type: running, timeout: 5m}
  - name: app
    members:
      - vm: %s
        id: app
        post_ready:
          - {type: script, command: [/bin/true], critical: true}
`, vm0, vm1))
	out, code = e.run(t, e.operator, "plans", "create", "-f", good)
	if code != 0 || !strings.Contains(out, "plan shop created") {
		t.Fatalf("create: exit %d\n%s", code, out)
	}
	out, code = e.run(t, e.operator, "plans")
	if code != 0 || !strings.Contains(out, "shop") || strings.Contains(out, "loop") {
		t.Fatalf("plans: exit %d, want shop only:\n%s", code, out)
	}
	out, code = e.run(t, e.operator, "plans", "show", "shop")
	if code != 0 || !strings.Contains(out, "wave 2 app") || !strings.Contains(out, "- app (vm "+vm1+") critical") ||
		!strings.Contains(out, "post-ready hook: script /bin/true") {
		t.Fatalf("show: exit %d\n%s", code, out)
	}
	for _, typ := range []string{"test", "live"} {
		out, code = e.run(t, e.operator, "plans", "validate", "shop", "--type", typ)
		t.Logf("failoverctl plans validate shop --type %s:\n%s", typ, out)
		if code != 0 || !strings.Contains(out, "VALID (0 blocker(s)") {
			t.Fatalf("validate --type %s: exit %d", typ, code)
		}
	}
	// An edit naming a VM that is not registered is stored (it may be
	// registered later), and validate then blocks on it: exit 4.
	ghost := write("ghost.yaml", fmt.Sprintf("name: shop\nwaves:\n  - members: [{vm: %s}, {vm: ghost-vm}]\n", vm0))
	if out, code = e.run(t, e.operator, "plans", "update", "shop", "-f", ghost); code != 0 || !strings.Contains(out, "version 2") {
		t.Fatalf("update: exit %d\n%s", code, out)
	}
	if out, code = e.run(t, e.operator, "plans", "update", "shop", "-f", ghost, "--version", "1"); code != exitConflictCode {
		t.Fatalf("a stale update: exit %d, want %d\n%s", code, exitConflictCode, out)
	}
	out, code = e.run(t, e.operator, "plans", "validate", "shop")
	if code != exitConflictCode || !strings.Contains(out, `BLOCKER waves[0].members[1].vm [ghost-vm]: member ghost-vm: no VM context with id or name "ghost-vm"`) {
		t.Fatalf("validate with an unknown VM: exit %d, want %d\n%s", code, exitConflictCode, out)
	}
	if out, code = e.run(t, e.operator, "plans", "delete", "shop", "--yes"); code != 5 {
		t.Fatalf("delete by an operator: exit %d, want 5\n%s", code, out)
	}
	if out, code = e.run(t, e.admin, "plans", "delete", "shop"); code != 2 {
		t.Fatalf("delete without --yes: exit %d, want 2\n%s", code, out)
	}
	if out, code = e.run(t, e.admin, "plans", "delete", "shop", "--yes"); code != 0 {
		t.Fatalf("delete: exit %d\n%s", code, out)
	}
	if out, code = e.run(t, e.operator, "plans", "show", "shop"); code != 6 {
		t.Fatalf("show after delete: exit %d, want 6\n%s", code, out)
	}
}
