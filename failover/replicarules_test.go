package failover

import (
	"strings"
	"testing"
)

// TestReplicaRulesValidate: a template with an unknown placeholder, an
// unmatched brace, or that does not make an NBD URI is refused, naming
// its setting; the defaults and documented examples pass.
func TestReplicaRulesValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		rules   ReplicaRules
		wantErr string // "" means valid
	}{
		{"defaults", ReplicaRules{}.WithDefaults(), ""},
		{"documented examples", ReplicaRules{SourceNBDURI: "nbd://nbd-gw:10809/{vm_uuid}-{disk_key}",
			ReplicaNBDURI: "nbd://appliance:10809/{volume_id}", ReplicaVolumeName: "{vm_name}-disk{disk_number}"}, ""},
		{"unix socket", ReplicaRules{ReplicaNBDURI: "nbd+unix:///?socket=/run/nbd/{volume_id}.sock"}, ""},
		{"unknown placeholder", ReplicaRules{SourceNBDURI: "nbd://gw/{vm}"}, "FAILOVER_SOURCE_NBD_URI: unknown placeholder {vm}"},
		{"volume placeholder in a source", ReplicaRules{SourceNBDURI: "nbd://gw/{volume_id}"}, "FAILOVER_SOURCE_NBD_URI: unknown placeholder {volume_id}"},
		{"volume placeholder in a volume name", ReplicaRules{ReplicaVolumeName: "{volume_name}"}, "FAILOVER_REPLICA_VOLUME_NAME"},
		{"unmatched brace", ReplicaRules{ReplicaNBDURI: "nbd://a/{volume_id"}, "FAILOVER_REPLICA_NBD_URI: unmatched brace"},
		{"not NBD", ReplicaRules{ReplicaNBDURI: "http://a/{volume_id}"}, "FAILOVER_REPLICA_NBD_URI"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.rules.validate()
			if c.wantErr == "" && err != nil {
				t.Fatalf("validate: %v", err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("validate: %v, want an error containing %q", err, c.wantErr)
			}
		})
	}
}

// TestExpand: placeholders take the disk's values, escaped in a URI so a
// VM name cannot add a path or a query; one without a value is an error.
func TestExpand(t *testing.T) {
	t.Parallel()
	dev := 4
	v := TemplateVars{VMUUID: "4200-1", VMName: "web 01/x?y", DiskKey: 2001, DiskNumber: 2, VolumeID: "vol-9", VolumeName: "web-disk2", DeviceID: &dev}
	for _, c := range []struct {
		tmpl string
		uri  bool
		want string
	}{
		{DefaultReplicaVolumeName, false, "web 01/x?y-disk2"},
		{"nbd://gw:10809/{vm_uuid}-{disk_key}", true, "nbd://gw:10809/4200-1-2001"},
		{"nbd://gw/{vm_name}", true, "nbd://gw/web%2001%2Fx%3Fy"},
		{"nbd://a/{volume_id}/{volume_name}/{device_id}", true, "nbd://a/vol-9/web-disk2/4"},
	} {
		if got, err := expand(c.tmpl, v, c.uri); err != nil || got != c.want {
			t.Errorf("expand(%q) = %q, %v; want %q", c.tmpl, got, err, c.want)
		}
	}
	v.DeviceID = nil
	if _, err := expand("nbd://a/{device_id}", v, true); err == nil || !strings.Contains(err.Error(), "{device_id}") {
		t.Errorf("expand without a device id: %v, want an error naming {device_id}", err)
	}
}
