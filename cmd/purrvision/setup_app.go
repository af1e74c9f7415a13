package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/ghclient"
	"github.com/purrvision/purrvision/internal/setup"
)

// defaultAPIURL is GitHub's REST API, when neither --api-url nor a config
// names one.
const defaultAPIURL = "https://api.github.com/"

func newSetupAppCommand() *cobra.Command {
	var o struct {
		web, api, org, name, webhook, listen string
		files                                setup.AppFiles
		overwrite                            bool
	}
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Create the GitHub App through GitHub's manifest flow and write its key and webhook secret",
		Long: `Create Purrvision's GitHub App from its manifest (the permissions and events
the product needs, templates/github-app-manifest.json) with GitHub's
manifest flow: this serves a page on a loopback address; open it in a
browser signed in to GitHub, and it posts the manifest to GitHub's
"new GitHub App" page (--org's, or yours). Click "Create GitHub App":
GitHub brings the browser back here with a code, which this exchanges
(POST /app-manifests/{code}/conversions) for the App's private key and
webhook secret. They are written to --private-key-file and
--webhook-secret-file (0600; a file already there is kept, and an
error, unless --overwrite) and never printed. It prints the App's ID and
slug, and the config lines to paste into purrvision.yaml.
The API is --api-url, or the config's github.apiURL when there is a
config, or https://api.github.com/. For GitHub Enterprise Server give
--web-url https://HOST and --api-url https://HOST/api/v3/.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.webhook == "" {
				return usageError(errors.New("--webhook-url is required: the service's public URL of /webhook, e.g. https://purrvision.example.com/webhook"))
			}
			api, err := setupAPIURL(cmd, o.api)
			if err != nil {
				return err
			}
			files, err := absFiles(o.files)
			if err != nil {
				return usageError(err)
			}
			if err := setup.CheckAppFiles(files, o.overwrite); err != nil {
				return usageError(err)
			}
			gh, err := ghclient.New(ghclient.Options{APIURL: api})
			if err != nil {
				return usageError(err)
			}
			ln, err := listenLoopback(o.listen)
			if err != nil {
				return usageError(err)
			}
			// The page's path is a secret of this run: only the terminal
			// prints it.
			secret, err := setup.NewState(rand.Reader)
			if err != nil {
				ln.Close()
				return err
			}
			prefix := "/" + secret
			page := "http://" + ln.Addr().String() + prefix + "/"
			manifest, err := setup.AppManifest(setup.ManifestOptions{Name: o.name, WebhookURL: o.webhook, RedirectURL: "http://" + ln.Addr().String() + prefix + setup.CallbackPath})
			if err != nil {
				ln.Close()
				return usageError(err)
			}
			state, err := setup.NewState(rand.Reader)
			if err != nil {
				ln.Close()
				return err
			}
			action, err := setup.FormAction(o.web, o.org, state)
			if err != nil {
				ln.Close()
				return usageError(err)
			}
			code, err := takeCode(cmd, ln, setup.NewManifestFlow(manifest, action, state, prefix), page)
			if err != nil {
				return err
			}
			app, err := gh.ConvertAppManifest(cmd.Context(), code)
			if err != nil {
				return err
			}
			if o.org != "" && !strings.EqualFold(app.Owner, o.org) {
				// Not the App this run asked for: write none of its secrets.
				return fmt.Errorf("the App GitHub handed over (%s, ID %d) is owned by %s, not --org %s: nothing written; delete it on GitHub (%s) if you did not make it, and run setup app again", app.Slug, app.ID, app.Owner, o.org, app.HTMLURL)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created the GitHub App %s (ID %d), owned by %s: %s\n", app.Slug, app.ID, app.Owner, app.HTMLURL)
			if err := setup.WriteAppFiles(files, app, o.overwrite); err != nil {
				return fmt.Errorf("writing the App's secrets (GitHub shows the key once: make a new one on %s if this cannot be mended): %w", app.HTMLURL, err)
			}
			fmt.Fprintf(out, "Wrote its private key to %s and its webhook secret to %s (0600).\n", files.PrivateKey, files.WebhookSecret)
			fmt.Fprintf(out, "Next: install it on the requests repo and the tenants repo (%s/installations/new), then put this into purrvision.yaml:\n\n", app.HTMLURL)
			_, err = fmt.Fprint(out, setup.AppConfig(app, files))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.web, "web-url", "https://github.com", "GitHub's web root the form posts to (GitHub Enterprise Server: https://HOST)")
	f.StringVar(&o.api, "api-url", "", "GitHub's REST API root (default the config's github.apiURL, or "+defaultAPIURL+")")
	f.StringVar(&o.org, "org", "", "the organization that owns the App (default the signed-in person)")
	f.StringVar(&o.name, "name", "", "the App's name; its slug + [bot] is github.botLogin (default the manifest's, Purrvision)")
	f.StringVar(&o.webhook, "webhook-url", "", "the service's public URL of /webhook, where GitHub delivers events")
	f.StringVar(&o.listen, "listen", "127.0.0.1:0", "the loopback address of the page the browser opens")
	f.StringVar(&o.files.PrivateKey, "private-key-file", "purrvision.private-key.pem", "where the App's private key is written (github.app.privateKeyFile)")
	f.StringVar(&o.files.WebhookSecret, "webhook-secret-file", "webhook-secret", "where the webhook secret is written (github.webhookSecretFile)")
	f.BoolVar(&o.overwrite, "overwrite", false, "replace the key and secret files when they are there")
	return cmd
}

// setupAPIURL is --api-url, or the config's github.apiURL when a config
// is given or ./purrvision.yaml is there, or GitHub's.
func setupAPIURL(cmd *cobra.Command, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	path, err := cmd.Flags().GetString("config")
	if err != nil {
		return "", usageError(err)
	}
	if path == "" {
		if _, err := os.Stat(config.DefaultPath); errors.Is(err, fs.ErrNotExist) {
			return defaultAPIURL, nil
		}
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return "", err
	}
	if cfg.GitHub.APIURL == "" {
		return defaultAPIURL, nil
	}
	return cfg.GitHub.APIURL, nil
}

// absFiles makes the secret files' paths absolute, for the config lines.
func absFiles(f setup.AppFiles) (setup.AppFiles, error) {
	var err error
	if f.PrivateKey, err = filepath.Abs(f.PrivateKey); err != nil {
		return f, fmt.Errorf("--private-key-file: %w", err)
	}
	if f.WebhookSecret, err = filepath.Abs(f.WebhookSecret); err != nil {
		return f, fmt.Errorf("--webhook-secret-file: %w", err)
	}
	return f, nil
}

// listenLoopback listens on addr, which must be a loopback one: the page
// hands out no secret, but takes the code that becomes one.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: give a loopback HOST:PORT, e.g. 127.0.0.1:0", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--listen %q: the page serves only a loopback address, e.g. 127.0.0.1:0", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return ln, nil
}

// takeCode serves the flow on ln until GitHub's redirect brings the code.
func takeCode(cmd *cobra.Command, ln net.Listener, flow *setup.ManifestFlow, page string) (string, error) {
	srv := &http.Server{Handler: flow, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(cmd.OutOrStdout(), "Open %s in a browser signed in to GitHub, and create the App there.\n", page)
	code, err := flow.Code(cmd.Context())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx) // the done page is sent before Code returns
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serving the manifest page: %w", serr)
	}
	return code, err
}
