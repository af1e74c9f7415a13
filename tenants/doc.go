// Package tenants owns the tenants git repository: it commits rendered
// stores to branches and keeps one clone up to date.
package tenants
