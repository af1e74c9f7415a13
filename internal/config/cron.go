package config

import (
	"fmt"
	"strconv"
	"strings"
)

// cronField is one field of a standard (five-field) cron expression.
type cronField struct {
	name     string
	min, max int
	// names are the words the field accepts for its values, from min on
	// (JAN for 1, SUN for 0); nil when it accepts none.
	names []string
}

var cronFields = []cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day of week", min: 0, max: 7, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// cronDescriptors are the shorthands a Kubernetes CronJob accepts.
var cronDescriptors = map[string]bool{
	"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true,
}

// CheckCronSchedule reports whether s is a schedule a Kubernetes CronJob
// accepts, restricted to the standard five fields (minute hour
// day-of-month month day-of-week: numbers, names of months and days, *,
// ?, ranges a-b, steps /n and lists a,b) or one of @yearly, @annually,
// @monthly, @weekly, @daily, @midnight, @hourly. Time zones (TZ=,
// CRON_TZ=) and @every are refused: the CronJob runs in the cluster's time
// zone, as docs/config.md says.
func CheckCronSchedule(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("is empty; give a cron schedule such as \"0 3 * * *\" (03:00 every day)")
	}
	if strings.HasPrefix(s, "@") {
		if !cronDescriptors[s] {
			return fmt.Errorf("%q is not one of @yearly, @monthly, @weekly, @daily, @hourly; or give five fields such as \"0 3 * * *\"", s)
		}
		return nil
	}
	if strings.Contains(s, "TZ=") {
		return fmt.Errorf("%q names a time zone; leave it out: backups run in the cluster's time zone", s)
	}
	fields := strings.Fields(s)
	if len(fields) != len(cronFields) {
		return fmt.Errorf("%q has %d fields; give five: minute hour day-of-month month day-of-week, such as \"0 3 * * *\"", s, len(fields))
	}
	for i, f := range fields {
		if err := cronFields[i].check(f); err != nil {
			return fmt.Errorf("%q: %s %w", s, cronFields[i].name, err)
		}
	}
	return nil
}

// check checks one field: a comma-separated list of ranges, each with an
// optional step.
func (cf cronField) check(f string) error {
	for _, part := range strings.Split(f, ",") {
		rng, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n <= 0 || n > cf.max+1 || len(step) > 2 {
				return fmt.Errorf("%q has step %q; give a number from 1 to %d", f, step, cf.max)
			}
		}
		if rng == "*" || rng == "?" {
			continue
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := cf.value(lo)
		if err != nil {
			return in(f, lo, err)
		}
		if !isRange {
			continue
		}
		b, err := cf.value(hi)
		if err != nil {
			return in(f, hi, err)
		}
		if a > b {
			return fmt.Errorf("%q has range %s whose start is after its end", f, rng)
		}
	}
	return nil
}

// in says which field a value's error is in, when the field is more than
// the value.
func in(field, value string, err error) error {
	if field == value {
		return err
	}
	return fmt.Errorf("%q: %w", field, err)
}

// value reads one number or name of the field.
func (cf cronField) value(v string) (int, error) {
	for i, n := range cf.names {
		if strings.EqualFold(v, n) {
			if cf.min == 0 {
				return i, nil
			}
			return cf.min + i, nil
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil || len(v) > 2 || v[0] == '+' || v[0] == '-' {
		return 0, fmt.Errorf("%q is not a number from %d to %d", v, cf.min, cf.max)
	}
	if n < cf.min || n > cf.max {
		return 0, fmt.Errorf("%d is out of range %d-%d", n, cf.min, cf.max)
	}
	return n, nil
}
