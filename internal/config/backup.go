package config

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/scrypt"
)

// DefaultKeepAfterDecommission is backups.keepAfterDecommission when the
// config does not set it: 30 days.
const DefaultKeepAfterDecommission = "720h"

// PlanBackups are the scheduled backups of a plan's stores. A plan without
// them takes none.
type PlanBackups struct {
	// Schedule is a cron schedule (five fields, or @daily and the like),
	// in the cluster's time zone.
	Schedule string `json:"schedule"`
	// Keep is how many scheduled backups each store keeps, at least 1.
	Keep int `json:"keep"`
}

// Backups are the settings of store backups shared by every cluster.
type Backups struct {
	// KeepAfterDecommission is how long a decommissioned store's backups
	// are kept: a duration such as 720h (DefaultKeepAfterDecommission).
	KeepAfterDecommission string `json:"keepAfterDecommission,omitempty"`
	// Target is the backup target of clusters that name none.
	Target *BackupTarget `json:"target,omitempty"`
}

// KeepAfterDecommissionDuration is backups.keepAfterDecommission, which
// Validate checked.
func (b Backups) KeepAfterDecommissionDuration() time.Duration {
	d, err := time.ParseDuration(or(b.KeepAfterDecommission, DefaultKeepAfterDecommission))
	if err != nil {
		return 0
	}
	return d
}

// BackupTarget is where a cluster's stores write their backups: an
// S3-compatible bucket, through restic.
type BackupTarget struct {
	// Repository is the prefix of every store's restic repository,
	// s3:https://host[:port]/bucket[/prefix]; a store's is
	// <repository>/<cluster>/<store ID>.
	Repository string `json:"repository"`
	// CredentialsFile holds the S3 access key, as the two lines
	// AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=...; read by
	// LoadBackupCredentials, never logged.
	CredentialsFile string `json:"credentialsFile"`
	// Egress lists the addresses the backup pods may reach: the target's.
	Egress []BackupEgress `json:"egress"`
	// Image, when set, is the backup image (restic and the MariaDB
	// client) instead of the chart's.
	Image *ChartImage `json:"image,omitempty"`
}

// BackupEgress is one address range and its ports that backup pods may
// reach.
type BackupEgress struct {
	CIDR  string  `json:"cidr"`
	Ports []int32 `json:"ports"`
}

// backupRepository is s3:http(s)://host[:port]/bucket[/prefix...]: the
// bucket and prefix in lowercase letters, digits, '.', '-' and '_'.
var backupRepository = regexp.MustCompile(`^s3:https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[a-z0-9][a-z0-9._-]*)+$`)

// validate checks one target; key is where it is in the config.
func (t *BackupTarget) validate(key string) []error {
	if t == nil {
		return nil
	}
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, field, fmt.Sprintf(format, args...)))
	}
	switch {
	case t.Repository == "":
		add("repository", "required; the restic repository prefix of the stores' backups, such as s3:https://s3.eu.example.com/acme-backups/stores")
	case !backupRepository.MatchString(t.Repository) || strings.Contains(t.Repository, "/./") || strings.Contains(t.Repository, "/../") || strings.HasSuffix(t.Repository, "/.."):
		add("repository", "%q is not s3:https://host[:port]/bucket[/prefix] (an S3-compatible bucket; no user, query or trailing '/'), such as s3:https://s3.eu.example.com/acme-backups/stores", t.Repository)
	default:
		if u, err := url.Parse(strings.TrimPrefix(t.Repository, "s3:")); err != nil || u.Host == "" {
			add("repository", "%q has no host; give s3:https://host[:port]/bucket[/prefix]", t.Repository)
		}
	}
	if strings.TrimSpace(t.CredentialsFile) == "" {
		add("credentialsFile", "required; a file holding the lines AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... (docs/operations.md, \"Backup targets\")")
	}
	if len(t.Egress) == 0 {
		add("egress", "required; list the target's addresses the backup pods may reach, such as [{cidr: 203.0.113.10/32, ports: [443]}]")
	}
	for i, e := range t.Egress {
		ek := fmt.Sprintf("egress[%d]", i)
		if p, err := netip.ParsePrefix(e.CIDR); err != nil || p.Masked() != p {
			add(ek+".cidr", "%q is not a CIDR like 203.0.113.10/32 (the address bits past the mask must be zero)", e.CIDR)
		}
		if len(e.Ports) == 0 {
			add(ek+".ports", "required; list the target's ports, such as [443]")
		}
		for j, p := range e.Ports {
			if p < 1 || p > 65535 {
				add(fmt.Sprintf("%s.ports[%d]", ek, j), "%d is not a port from 1 to 65535", p)
			}
		}
	}
	return append(errs, t.Image.validateAt(key+".image")...)
}

// validateBackups checks backups, the plans' backups and that every
// cluster a plan with backups can land on has a target.
func (c *Config) validateBackups() []error {
	var errs []error
	if k := c.Backups.KeepAfterDecommission; k != "" {
		if d, err := time.ParseDuration(k); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("backups.keepAfterDecommission: %q is not a positive duration like 720h (30 days)", k))
		}
	}
	errs = append(errs, c.Backups.Target.validate("backups.target")...)
	for i, cl := range c.Clusters {
		errs = append(errs, cl.Backup.validate(fmt.Sprintf("clusters[%d].backup", i))...)
	}
	var withBackups []string
	for _, name := range c.PlanNames() {
		b := c.Plans[name].Backups
		if b == nil {
			continue
		}
		withBackups = append(withBackups, name)
		key := "plans." + name + ".backups"
		if err := CheckCronSchedule(b.Schedule); err != nil {
			errs = append(errs, fmt.Errorf("%s.schedule: %w", key, err))
		}
		if m := c.Plans[name].Memory; !m.IsZero() && m.Value() < 512<<20 {
			errs = append(errs, fmt.Errorf("plans.%s.memory: %s is too small for a plan with backups, whose backup pod takes a share of it; give at least 512Mi, or remove %s", name, m.String(), key))
		}
		if b.Keep < 1 {
			errs = append(errs, fmt.Errorf("%s.keep: %d must be 1 or more: the number of scheduled backups each store keeps", key, b.Keep))
		}
	}
	if len(withBackups) == 0 {
		return errs
	}
	for i, cl := range c.Clusters {
		if c.ClusterSettings(cl.Name).Backup == nil {
			errs = append(errs, fmt.Errorf("clusters[%d].backup: cluster %q has no backup target, but plans.%s.backups asks for backups; set clusters[%d].backup or backups.target, or remove the plan's backups",
				i, cl.Name, withBackups[0], i))
		}
	}
	return errs
}

// BackupCredentials are the S3 access key of a backup target. They print
// as [redacted].
type BackupCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	// Fingerprint names the key without revealing it: a slow, salted hash
	// (scrypt), not secret. The renderer records it beside a store's
	// sealed copy of the key, so it can tell, without decrypting, that the
	// key has changed and must be sealed again.
	Fingerprint string
}

// String keeps the key out of logs.
func (BackupCredentials) String() string { return "[redacted]" }

// GoString keeps the key out of %#v.
func (BackupCredentials) GoString() string { return "config.BackupCredentials{[redacted]}" }

// ParseBackupCredentials reads the content of a credentials file: the
// lines AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=...; blank lines
// and lines starting with # are skipped. Errors never quote a value.
func ParseBackupCredentials(data []byte) (BackupCredentials, error) {
	var c BackupCredentials
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var dst *string
		switch k {
		case "AWS_ACCESS_KEY_ID":
			dst = &c.AccessKeyID
		case "AWS_SECRET_ACCESS_KEY":
			dst = &c.SecretAccessKey
		}
		switch {
		case !ok || dst == nil:
			return BackupCredentials{}, fmt.Errorf("line %d is not AWS_ACCESS_KEY_ID=... or AWS_SECRET_ACCESS_KEY=...", n)
		case *dst != "":
			return BackupCredentials{}, fmt.Errorf("line %d sets %s a second time", n, k)
		case v == "" || strings.ContainsAny(v, " \t\"'"):
			return BackupCredentials{}, fmt.Errorf("line %d: %s is empty or has spaces or quotes; write the key as it is, unquoted", n, k)
		}
		*dst = v
	}
	if err := sc.Err(); err != nil {
		return BackupCredentials{}, err
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return BackupCredentials{}, errors.New("needs both AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines")
	}
	fp, err := scrypt.Key([]byte(c.AccessKeyID+"\x00"+c.SecretAccessKey), []byte("purrvision backup credentials v1"), 1<<15, 8, 1, 16)
	if err != nil {
		return BackupCredentials{}, fmt.Errorf("fingerprinting the key: %w", err)
	}
	c.Fingerprint = "scrypt:" + hex.EncodeToString(fp)
	return c, nil
}

// LoadBackupCredentials reads the credentials file of the backup target
// of every cluster that has one, each file once: the credentials by
// cluster name. Only the service and the render command call it; the
// renderer takes what it returns.
func (c *Config) LoadBackupCredentials() (map[string]BackupCredentials, error) {
	out := map[string]BackupCredentials{}
	byFile := map[string]BackupCredentials{}
	for i, cl := range c.Clusters {
		t := c.ClusterSettings(cl.Name).Backup
		if t == nil {
			continue
		}
		creds, ok := byFile[t.CredentialsFile]
		if !ok {
			key := "backups.target.credentialsFile"
			if cl.Backup != nil {
				key = fmt.Sprintf("clusters[%d].backup.credentialsFile", i)
			}
			data, err := os.ReadFile(t.CredentialsFile)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", key, err)
			}
			if creds, err = ParseBackupCredentials(data); err != nil {
				return nil, fmt.Errorf("reading %s %s: %w", key, t.CredentialsFile, err)
			}
			byFile[t.CredentialsFile] = creds
		}
		out[cl.Name] = creds
	}
	return out, nil
}
