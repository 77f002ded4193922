// Package recovery holds recovery plans: many VMs failed over in waves,
// with dependencies inside a wave, readiness checks, hooks, a failure
// policy and throttles. This file's package checks a plan's shape
// (CheckSpec); plan runs drive the single-VM engine's jobs per member.
package recovery
