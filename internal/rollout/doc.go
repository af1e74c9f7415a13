// Package rollout plans fleet rollouts: moving every store in the tenants
// repo forward to what today's config and chart render. It is pure, like
// the planners of internal/provision: PlanFleet reads a tree of the
// tenants repo and re-renders each store through the renderer, keeping
// its encrypted Secrets byte for byte, and groups the stores whose change
// is the same; the wave planner cuts the stores that change into
// cumulative waves in a repeatable canary order; Budget decides from a
// wave's results whether to go on, wait or pause; WaveCommit turns one
// wave into the commit to push. Text and Markdown print a plan, the
// latter bounded for a pull request body or a check run.
package rollout
