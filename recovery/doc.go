// Package recovery holds recovery plans: many VMs failed over in waves,
// with dependencies inside a wave, readiness checks, hooks, a failure
// policy and throttles. It fills a plan's defaults (WithDefaults), checks
// its shape without reading anything (CheckSpec, spec.go) and validates it
// against the state the store holds, read-only (Validate, validate.go);
// plan runs drive the single-VM engine's jobs per member.
package recovery
