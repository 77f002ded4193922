package lab

// Env returns the lab's settings as KEY=VALUE lines in the product's own
// configuration names, pointing the product's processes at the lab:
//
//	FAILOVER_VCENTER_URL, FAILOVER_VCENTER_USER, FAILOVER_VCENTER_PASSWORD,
//	FAILOVER_VCENTER_INSECURE=true, FAILOVER_CLOUDSTACK_URL,
//	FAILOVER_CLOUDSTACK_API_KEY, FAILOVER_CLOUDSTACK_SECRET_KEY,
//	FAILOVER_CLOUDSTACK_ZONE_ID, FAILOVER_CLOUDSTACK_TEMPLATE_ID,
//	FAILOVER_APPLIANCE_VM_ID, FAILOVER_VIRTIO_DEVICE_DIR (DeviceDir),
//	FAILOVER_SOURCE_NBD_URI and FAILOVER_REPLICA_NBD_URI (the export
//	templates)
//
// The lines can be appended to os.Environ() for a child process or written
// to an env file. Values contain no newlines.
func (l *Lab) Env() []string {
	return []string{
		"FAILOVER_VCENTER_URL=" + l.VCenter.URL,
		"FAILOVER_VCENTER_USER=" + l.VCenter.User,
		"FAILOVER_VCENTER_PASSWORD=" + l.VCenter.Password,
		"FAILOVER_VCENTER_INSECURE=true",
		"FAILOVER_CLOUDSTACK_URL=" + l.CloudStackURL,
		"FAILOVER_CLOUDSTACK_API_KEY=" + l.CloudStackAPIKey,
		"FAILOVER_CLOUDSTACK_SECRET_KEY=" + l.CloudStackSecretKey,
		"FAILOVER_CLOUDSTACK_ZONE_ID=" + l.ZoneID,
		"FAILOVER_CLOUDSTACK_TEMPLATE_ID=" + l.TemplateID,
		"FAILOVER_APPLIANCE_VM_ID=" + l.ApplianceVMID,
		"FAILOVER_VIRTIO_DEVICE_DIR=" + l.DeviceDir,
		"FAILOVER_SOURCE_NBD_URI=" + l.SourceNBDURITemplate,
		"FAILOVER_REPLICA_NBD_URI=" + l.ReplicaNBDURITemplate,
	}
}
