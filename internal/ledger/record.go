package ledger

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/storestatus"
)

// Kinds of the bot's own comments, one of each per issue.
const (
	KindStatus      = "status"
	KindValidation  = "validation"
	KindCredentials = "credentials"
	// KindRollout is the table of waves on a rollout's tracking issue.
	KindRollout = "rollout"
)

// Markers is the marker each kind's comment opens with.
var Markers = map[string]string{
	KindStatus:      v1alpha1.MarkerStatus,
	KindValidation:  v1alpha1.MarkerValidation,
	KindCredentials: v1alpha1.MarkerCredentials,
	KindRollout:     v1alpha1.MarkerRollout,
}

// KeepAnswered bounds the command IDs a Record lists; older ones are
// covered by AnsweredThrough.
const KeepAnswered = 100

// Record is what the ledger holds of one issue or pull request.
type Record struct {
	// Comments are the IDs of the bot's own comments, by kind.
	Comments map[string]int64 `json:"comments,omitempty"`
	// Answered are the newest command comments answered; every command
	// with an ID at most AnsweredThrough is answered too.
	Answered        []int64 `json:"answered,omitempty"`
	AnsweredThrough int64   `json:"answeredThrough,omitempty"`
	// Denied are the people told once that they may not run commands here.
	Denied []string `json:"denied,omitempty"`
	// Pending are the posts begun and not known to be done, by key (a
	// kind, or the reply to a command), each with the nonce its comment
	// carries: a post that failed may still have reached GitHub.
	Pending map[string]string `json:"pending,omitempty"`
	// PendingSince is when each post of Pending was begun (batch.go):
	// its comment is looked for among those updated since then.
	PendingSince map[string]time.Time `json:"pendingSince,omitempty"`
	// Credentials are the generations of credentials sealed to the owner.
	Credentials *Credentials `json:"credentials,omitempty"`
	// Status is what the bot records of the store: the truth the
	// status comment only shows. People with write access can edit any
	// comment, so nothing is read back from one.
	Status *storestatus.State `json:"status,omitempty"`
	// Rollout is the state of the rollout the issue tracks, as
	// internal/fleet writes it (a rollout.State).
	Rollout json.RawMessage `json:"rollout,omitempty"`
}

// Credentials are what the bot sealed to a store's owner: the ciphertexts
// (age, to the owner's SSH keys; never plaintext) of the generation in use
// and of the one a pull request will bring, so the credentials comment can
// show both until the merge.
type Credentials struct {
	// Delivered is the generation last sealed to the owner.
	Delivered string `json:"delivered,omitempty"`
	// Live is the generation the base branch holds: merged.
	Live string `json:"live,omitempty"`
	// Sealed holds the ciphertext of Live and of Delivered, by generation.
	Sealed map[string]string `json:"sealed,omitempty"`
}

// Seal records a new generation sealed to the owner ("" armored: none
// could be, the owner has no key), keeping only it and the live one.
func (r *Record) Seal(id, armored string) {
	c := r.creds()
	c.Delivered = id
	c.Sealed[id] = armored
	c.prune()
}

// Forget drops the delivered generation before it was merged, so the next
// render seals a new one.
func (r *Record) Forget() {
	c := r.creds()
	c.Delivered = ""
	c.prune()
}

// Merged records that the delivered generation is on the base branch now.
func (r *Record) Merged() {
	c := r.creds()
	if c.Delivered != "" {
		c.Live = c.Delivered
	}
	c.prune()
}

func (r *Record) creds() *Credentials {
	if r.Credentials == nil {
		r.Credentials = &Credentials{}
	}
	if r.Credentials.Sealed == nil {
		r.Credentials.Sealed = map[string]string{}
	}
	return r.Credentials
}

func (c *Credentials) prune() {
	for id := range c.Sealed {
		if id != c.Live && id != c.Delivered {
			delete(c.Sealed, id)
		}
	}
}

// State is the recorded state of the store; a fresh one when none.
func (r *Record) State() storestatus.State {
	if r.Status == nil {
		return storestatus.State{}
	}
	return *r.Status
}

// IsAnswered reports whether command comment id was answered.
func (r *Record) IsAnswered(id int64) bool {
	// Answer moves the watermark only below the IDs it keeps listing; a
	// record edited to push it further answers nothing more.
	through := r.AnsweredThrough
	if len(r.Answered) < KeepAnswered {
		through = 0
	} else if through >= r.Answered[0] {
		through = r.Answered[0] - 1
	}
	return id <= through || slices.Contains(r.Answered, id)
}

// Answer records command comment id as answered, keeping the list bounded.
func (r *Record) Answer(id int64) {
	if r.IsAnswered(id) {
		return
	}
	r.Answered = append(r.Answered, id)
	slices.Sort(r.Answered)
	if n := len(r.Answered) - KeepAnswered; n > 0 {
		r.AnsweredThrough = max(r.AnsweredThrough, r.Answered[n-1])
		r.Answered = slices.Clone(r.Answered[n:])
	}
}

// IsDenied reports whether login was already told it may not run commands.
func (r *Record) IsDenied(login string) bool { return slices.Contains(r.Denied, login) }

// Deny records that login was told.
func (r *Record) Deny(login string) {
	if !r.IsDenied(login) {
		r.Denied = append(r.Denied, login)
	}
}

func (r *Record) setComment(kind string, id int64) {
	if r.Comments == nil {
		r.Comments = map[string]int64{}
	}
	r.Comments[kind] = id
}

// SetStatus records st as the store's state; it returns what changed, for
// the commit message.
func (r *Record) SetStatus(st storestatus.State) string {
	old := r.State()
	r.Status = &st
	var what []string
	if old.Phase != st.Phase {
		what = append(what, fmt.Sprintf("phase %s", st.Phase))
	}
	if n := len(st.Timeline) - len(old.Timeline); n > 0 {
		what = append(what, fmt.Sprintf("%d timeline event(s)", n))
	}
	if old.Branch != st.Branch {
		what = append(what, "the commit last pushed to its branch")
	}
	if old.MergeCommit != st.MergeCommit {
		what = append(what, "its last merge")
	}
	if len(what) == 0 {
		what = append(what, "its state")
	}
	return fmt.Sprintf("store %s: %s", st.Store, strings.Join(what, ", "))
}
