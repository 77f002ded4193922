package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
)

const recoveryPlanColumns = `id::text, name, version, spec, created_by, created_at, updated_at`

func scanRecoveryPlan(row pgx.Row) (*apiv1.RecoveryPlan, error) {
	var p apiv1.RecoveryPlan
	var spec []byte
	if err := row.Scan(&p.ID, &p.Name, &p.Version, &spec, &p.CreatedBy, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	name := p.Name
	if err := json.Unmarshal(spec, &p.PlanSpec); err != nil {
		return nil, fmt.Errorf("reading the spec of recovery plan %s: %w", p.ID, err)
	}
	p.Name = name
	return &p, nil
}

// CreateRecoveryPlan stores a new plan at version 1 and returns it. A taken
// name is AlreadyExists.
func (s *Store) CreateRecoveryPlan(ctx context.Context, spec apiv1.PlanSpec, createdBy string) (*apiv1.RecoveryPlan, error) {
	return s.createRecoveryPlan(ctx, s.pool, spec, createdBy)
}

// CreateRecoveryPlanAudited is CreateRecoveryPlan that records decision d
// (its choice completed with the plan's id, name and version) in the same
// transaction.
func (s *Store) CreateRecoveryPlanAudited(ctx context.Context, spec apiv1.PlanSpec, createdBy string, d Decision) (*apiv1.RecoveryPlan, error) {
	var p *apiv1.RecoveryPlan
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
		if p, err = s.createRecoveryPlan(ctx, tx, spec, createdBy); err != nil {
			return err
		}
		return s.RecordDecision(ctx, tx, planDecision(d, p.ID, p.Name, p.Version))
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// planQuerier is the pool or a transaction.
type planQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// planDecision is d with the plan it is about in its choice.
func planDecision(d Decision, id, name string, version int) Decision {
	choice := map[string]any{}
	for k, v := range d.Choice {
		choice[k] = v
	}
	choice["plan_id"], choice["plan"], choice["version"] = id, name, version
	d.Choice = choice
	return d
}

func (s *Store) createRecoveryPlan(ctx context.Context, q planQuerier, spec apiv1.PlanSpec, createdBy string) (*apiv1.RecoveryPlan, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding recovery plan %q: %w", spec.Name, err)
	}
	p, err := scanRecoveryPlan(q.QueryRow(ctx, `INSERT INTO recovery_plans (id, name, spec, created_by)
		VALUES ($1, $2, $3, $4) RETURNING `+recoveryPlanColumns, uuid.NewString(), spec.Name, raw, createdBy))
	if isUniqueViolation(err, "recovery_plans_name_key") {
		return nil, errs.New(errs.AlreadyExists, "name: a recovery plan named %q exists", spec.Name).WithDetails("field", "name")
	}
	if err != nil {
		return nil, classify(err, "creating recovery plan %q", spec.Name)
	}
	return p, nil
}

// GetRecoveryPlan returns a plan by id or name, or NotFound.
func (s *Store) GetRecoveryPlan(ctx context.Context, idOrName string) (*apiv1.RecoveryPlan, error) {
	p, err := scanRecoveryPlan(s.pool.QueryRow(ctx, `SELECT `+recoveryPlanColumns+` FROM recovery_plans
		WHERE id::text = $1 OR name = $1 ORDER BY (id::text = $1) DESC LIMIT 1`, idOrName))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.New(errs.NotFound, "no recovery plan %q", idOrName)
	}
	if err != nil {
		return nil, classify(err, "reading recovery plan %q", idOrName)
	}
	return p, nil
}

// ListRecoveryPlans returns every plan by name.
func (s *Store) ListRecoveryPlans(ctx context.Context) ([]apiv1.RecoveryPlan, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recoveryPlanColumns+` FROM recovery_plans ORDER BY name`)
	if err != nil {
		return nil, classify(err, "listing recovery plans")
	}
	defer rows.Close()
	out := []apiv1.RecoveryPlan{}
	for rows.Next() {
		p, err := scanRecoveryPlan(rows)
		if err != nil {
			return nil, classify(err, "listing recovery plans")
		}
		out = append(out, *p)
	}
	return out, classify(rows.Err(), "listing recovery plans")
}

// UpdateRecoveryPlan replaces a plan's spec when its version is still
// ifVersion, and returns it at the next version. Another version is
// FailedPrecondition with the current one in the details ("version"), so
// a stale edit never overwrites a newer one; a taken name is
// AlreadyExists.
func (s *Store) UpdateRecoveryPlan(ctx context.Context, id string, ifVersion int, spec apiv1.PlanSpec) (*apiv1.RecoveryPlan, error) {
	return s.updateRecoveryPlan(ctx, s.pool, id, ifVersion, spec)
}

// UpdateRecoveryPlanAudited is UpdateRecoveryPlan that records decision d
// (its choice completed with the plan's id, name, new version and
// from_version) in the same transaction.
func (s *Store) UpdateRecoveryPlanAudited(ctx context.Context, id string, ifVersion int, spec apiv1.PlanSpec, d Decision) (*apiv1.RecoveryPlan, error) {
	var p *apiv1.RecoveryPlan
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
		if p, err = s.updateRecoveryPlan(ctx, tx, id, ifVersion, spec); err != nil {
			return err
		}
		d = planDecision(d, p.ID, p.Name, p.Version)
		d.Choice["from_version"] = ifVersion
		return s.RecordDecision(ctx, tx, d)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Store) updateRecoveryPlan(ctx context.Context, q planQuerier, id string, ifVersion int, spec apiv1.PlanSpec) (*apiv1.RecoveryPlan, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding recovery plan %q: %w", spec.Name, err)
	}
	p, err := scanRecoveryPlan(q.QueryRow(ctx, `UPDATE recovery_plans SET name = $3, spec = $4, version = version + 1,
		updated_at = now() WHERE id::text = $1 AND version = $2 RETURNING `+recoveryPlanColumns, id, ifVersion, spec.Name, raw))
	switch {
	case isUniqueViolation(err, "recovery_plans_name_key"):
		return nil, errs.New(errs.AlreadyExists, "name: a recovery plan named %q exists", spec.Name).WithDetails("field", "name")
	case errors.Is(err, pgx.ErrNoRows):
		cur, gerr := s.GetRecoveryPlan(ctx, id)
		if gerr != nil {
			return nil, gerr
		}
		return nil, errs.New(errs.FailedPrecondition, "recovery plan %s is at version %d, not %d: read it again and edit that version",
			cur.Name, cur.Version, ifVersion).WithDetails("version", cur.Version)
	case err != nil:
		return nil, classify(err, "updating recovery plan %s", id)
	}
	return p, nil
}

// DeleteRecoveryPlan deletes a plan by id, or NotFound.
func (s *Store) DeleteRecoveryPlan(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM recovery_plans WHERE id::text = $1`, id)
	if err != nil {
		return classify(err, "deleting recovery plan %s", id)
	}
	if tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "no recovery plan %s", id)
	}
	return nil
}

// DeleteRecoveryPlanAudited deletes a plan by id and records decision d
// (its choice completed with the plan's id, name and last version) in the
// same transaction; no such plan is NotFound and records nothing.
func (s *Store) DeleteRecoveryPlanAudited(ctx context.Context, id string, d Decision) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var name string
		var version int
		err := tx.QueryRow(ctx, `DELETE FROM recovery_plans WHERE id::text = $1 RETURNING name, version`, id).Scan(&name, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.New(errs.NotFound, "no recovery plan %s", id)
		}
		if err != nil {
			return classify(err, "deleting recovery plan %s", id)
		}
		return s.RecordDecision(ctx, tx, planDecision(d, id, name, version))
	})
}
