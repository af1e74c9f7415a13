package ghclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

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
		var ge *github.ErrorResponse
		if errors.As(err, &ge) && ge.Response != nil {
			return forge.AppCredentials{}, fmt.Errorf("%s: %w", action, &forge.APIError{Status: ge.Response.StatusCode, Message: ge.Message,
				Err: fmt.Errorf("GitHub answered %s: %s", ge.Response.Status, ge.Message)})
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return forge.AppCredentials{}, fmt.Errorf("%s: %w", action, err)
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
