package forge

// AppCredentials is a GitHub App as GitHub's manifest flow hands it over
// (`purrvision setup app`): who it is, and the secrets only that answer
// ever carries. PrivateKeyPEM and WebhookSecret are secrets: write them to
// files, never print or log them.
type AppCredentials struct {
	ID       int64
	Slug     string // the App's bot is Slug + "[bot]"
	Name     string
	Owner    string // the account that owns the App
	HTMLURL  string
	ClientID string

	PrivateKeyPEM []byte
	WebhookSecret []byte
}
