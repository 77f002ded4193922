package cloudstack

import "strings"

// AddStoragePool adds a primary storage pool; an empty ID is generated and
// an empty Type is PoolNFS. It returns the pool.
func (s *Sim) AddStoragePool(p StoragePool) StoragePool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = newID()
	}
	if p.Type == "" {
		p.Type = PoolNFS
	}
	if p.Name == "" {
		p.Name = "pool-" + p.ID[:8]
	}
	s.pools[p.ID] = &p
	s.nextSeq(p.ID)
	return p
}

// StoragePools returns copies of all storage pools, in creation order.
func (s *Sim) StoragePools() []StoragePool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StoragePool
	for _, p := range sortedByCreation(s, s.pools, func(p *StoragePool) string { return p.ID }) {
		out = append(out, *p)
	}
	return out
}

// defaultPoolID returns the default NFS pool, creating it on first use.
// Callers hold s.mu.
func (s *Sim) defaultPoolID() string {
	if s.defaultPool == "" {
		p := &StoragePool{ID: newID(), Name: "primary-nfs", Type: PoolNFS}
		s.pools[p.ID] = p
		s.nextSeq(p.ID)
		s.defaultPool = p.ID
	}
	return s.defaultPool
}

// defaultFormat is the format of a new volume on pool: RAW on RBD and
// CLVM, QCOW2 elsewhere (KVM). Callers hold s.mu.
func (s *Sim) defaultFormat(poolID string) string {
	if p, ok := s.pools[poolID]; ok && (p.Type == PoolRBD || p.Type == PoolCLVM) {
		return FormatRAW
	}
	return FormatQCOW2
}

func (s *Sim) renderPool(p *StoragePool) map[string]any {
	m := map[string]any{
		"id": p.ID, "name": p.Name, "type": p.Type, "state": "Up", "scope": "ZONE",
		"hypervisor": "KVM", "zoneid": p.ZoneID, "zonename": s.zoneName(p.ZoneID),
	}
	return m
}

// listStoragePools answers listStoragePools (id, name filters) so a caller
// can learn a volume's pool type from its storageid.
func (s *Sim) listStoragePools(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, p := range sortedByCreation(s, s.pools, func(p *StoragePool) string { return p.ID }) {
		if id := r.get("id"); id != "" && id != p.ID {
			continue
		}
		if name := r.get("name"); name != "" && !strings.EqualFold(name, p.Name) {
			continue
		}
		out = append(out, s.renderPool(p))
	}
	return listResponse("storagepool", out), nil
}
