package ghclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/forge"
)

// ConvertAppManifest exchanges the code GitHub's App manifest flow
// redirected with for the App it created, its private key and its
// webhook secret (POST /app-manifests/{code}/conversions, which needs no
// authentication). A code works once, within an hour of its making:
// forge.ErrNotFound otherwise. The errors never carry the code, which
// go-github's name in the request's URL.
func (c *Client) ConvertAppManifest(ctx context.Context, code string) (forge.AppCredentials, error) {
	const action = "exchanging the App manifest code"
	cfg, resp, err := c.gh.Apps.CompleteAppManifest(ctx, url.PathEscape(code))
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return forge.AppCredentials{}, fmt.Errorf("%s: %w (a code works once, within an hour)", action, forge.ErrNotFound)
		}
		// Every answer is told from its status and message alone: go-github's
		// errors (ErrorResponse, RateLimitError, AbuseRateLimitError, a
		// url.Error) name the request's URL, which holds the code.
		if resp != nil && resp.Response != nil {
			msg := http.StatusText(resp.StatusCode)
			var ge *github.ErrorResponse
			var rl *github.RateLimitError
			var ab *github.AbuseRateLimitError
			switch {
			case errors.As(err, &ge):
				msg = ge.Message
			case errors.As(err, &rl):
				msg = rl.Message
			case errors.As(err, &ab):
				msg = ab.Message
			}
			return forge.AppCredentials{}, fmt.Errorf("%s: %w", action, &forge.APIError{Status: resp.StatusCode, Message: msg,
				Err: fmt.Errorf("GitHub answered %d: %s", resp.StatusCode, msg)})
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			return forge.AppCredentials{}, fmt.Errorf("%s: %v %w", action, ue.Op, ue.Err)
		}
		return forge.AppCredentials{}, fmt.Errorf("%s: %w", action, errors.New(strings.ReplaceAll(err.Error(), code, "<code>")))
	}
	app := forge.AppCredentials{
		ID: cfg.GetID(), Slug: cfg.GetSlug(), Name: cfg.GetName(), Owner: cfg.GetOwner().GetLogin(),
		HTMLURL: cfg.GetHTMLURL(), ClientID: cfg.GetClientID(),
		PrivateKeyPEM: []byte(cfg.GetPEM()), WebhookSecret: []byte(cfg.GetWebhookSecret()),
	}
	switch {
	case app.ID == 0:
		return forge.AppCredentials{}, fmt.Errorf("%s: GitHub's answer has no id", action)
	case app.Slug == "":
		return forge.AppCredentials{}, fmt.Errorf("%s: GitHub's answer has no slug", action)
	case len(app.PrivateKeyPEM) == 0:
		return forge.AppCredentials{}, fmt.Errorf("%s: GitHub's answer has no pem", action)
	}
	return app, nil
}
