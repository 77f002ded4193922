package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
)

// MappingType says which failover a network mapping is for (the API's
// type, apiv1).
type MappingType = apiv1.MappingType

// Mapping types.
const (
	MappingLive MappingType = "live"
	MappingTest MappingType = "test"
)

// NetworkMapping maps one source network of a VM context to a CloudStack
// network for one kind of failover.
type NetworkMapping struct {
	ID                     int64
	ContextID              string
	SourceNetworkName      string
	DestinationNetworkID   string
	DestinationNetworkName string
	MappingType            MappingType
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

const mappingColumns = `id, context_id, source_network_name, destination_network_id, destination_network_name,
	mapping_type, created_at, updated_at`

func scanMapping(r pgx.Row) (NetworkMapping, error) {
	var m NetworkMapping
	err := r.Scan(&m.ID, &m.ContextID, &m.SourceNetworkName, &m.DestinationNetworkID, &m.DestinationNetworkName,
		&m.MappingType, &m.CreatedAt, &m.UpdatedAt)
	return m, err
}

type execQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func upsertMapping(ctx context.Context, q execQuerier, m NetworkMapping) (NetworkMapping, error) {
	out, err := scanMapping(q.QueryRow(ctx, `
		INSERT INTO network_mappings (context_id, source_network_name, destination_network_id, destination_network_name, mapping_type)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (context_id, source_network_name, mapping_type) DO UPDATE
		SET destination_network_id = EXCLUDED.destination_network_id,
		    destination_network_name = EXCLUDED.destination_network_name, updated_at = now()
		RETURNING `+mappingColumns,
		m.ContextID, m.SourceNetworkName, m.DestinationNetworkID, m.DestinationNetworkName, m.MappingType))
	if isForeignKeyViolation(err) {
		return out, errs.New(errs.NotFound, "no VM context %q", m.ContextID)
	}
	return out, classify(err, "storing %s mapping of %s/%s", m.MappingType, m.ContextID, m.SourceNetworkName)
}

// UpsertMapping creates or replaces the one mapping for (context, source
// network, type).
func (s *Store) UpsertMapping(ctx context.Context, m NetworkMapping) (NetworkMapping, error) {
	return upsertMapping(ctx, s.pool, m)
}

// UpsertMappings creates or replaces several mappings in one transaction:
// all are stored or none.
func (s *Store) UpsertMappings(ctx context.Context, ms []NetworkMapping) ([]NetworkMapping, error) {
	var out []NetworkMapping
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out = out[:0]
		for _, m := range ms {
			saved, err := upsertMapping(ctx, tx, m)
			if err != nil {
				return err
			}
			out = append(out, saved)
		}
		return nil
	})
	return out, err
}

// ListMappings returns a context's mappings (all contexts' when contextID
// is empty), optionally of one type.
func (s *Store) ListMappings(ctx context.Context, contextID string, typ MappingType) ([]NetworkMapping, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+mappingColumns+` FROM network_mappings
		WHERE ($1 = '' OR context_id = $1) AND ($2 = '' OR mapping_type = $2)
		ORDER BY context_id, source_network_name, mapping_type`, contextID, string(typ))
	if err != nil {
		return nil, classify(err, "listing mappings of %q", contextID)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (NetworkMapping, error) { return scanMapping(r) })
	return out, classify(err, "listing mappings of %q", contextID)
}

// DeleteMappings deletes the mappings of one source network of a context:
// of one type, or of both when typ is empty. It returns how many went;
// none is NotFound.
func (s *Store) DeleteMappings(ctx context.Context, contextID, sourceNetwork string, typ MappingType) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM network_mappings
		WHERE context_id = $1 AND source_network_name = $2 AND ($3 = '' OR mapping_type = $3)`,
		contextID, sourceNetwork, string(typ))
	if err != nil {
		return 0, classify(err, "deleting mappings of %s/%s", contextID, sourceNetwork)
	}
	if tag.RowsAffected() == 0 {
		return 0, errs.New(errs.NotFound, "no mapping for source network %q of context %q", sourceNetwork, contextID)
	}
	return tag.RowsAffected(), nil
}
