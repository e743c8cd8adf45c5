// A Go service that signs users in with golang.org/x/oauth2 and github.com/coreos/go-oidc, the way
// go-oidc's README and example show it, for sso-repro's real-RP tests. It follows the sso-repro
// external-RP contract (harness/src/command.rs): settings in SSO_* environment variables, a line
// "sso-repro-rp ready on port N", and after each callback "sso-repro-rp: signed in" or, after its
// error log line, "sso-repro-rp: sign-in failed".
//
// Name resolution: the service's dialer resolves host names from SSO_HOSTS_FILE only (the names
// the harness gives this RP), so it never asks a DNS server; a name not in the file fails as Go's
// resolver does ("lookup idp.sso.test: no such host").
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	oidc "github.com/coreos/go-oidc"
	"golang.org/x/oauth2"
)

// The state, nonce and PKCE verifier of one sign-in, kept under the browser's session cookie.
type pending struct {
	state, nonce, verifier string
}

var (
	sessions   sync.Map // session id → pending
	oauthCfg   oauth2.Config
	verifier   *oidc.IDTokenVerifier
	httpClient *http.Client
	logger     = log.New(os.Stdout, "", 0) // no timestamps: the harness snapshots the log
)

func env(name string) string { return os.Getenv(name) }

func random() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// hostsFromFile reads an /etc/hosts-style file: "ADDRESS NAME..." per line.
func hostsFromFile(path string) map[string]string {
	hosts := map[string]string{}
	file, err := os.Open(path)
	if err != nil {
		logger.Fatalf("ERROR reading SSO_HOSTS_FILE: %v", err)
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		fields := strings.Fields(strings.SplitN(scanner.Text(), "#", 2)[0])
		for _, name := range fields[min(1, len(fields)):] {
			hosts[strings.ToLower(name)] = fields[0]
		}
	}
	return hosts
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// backChannel is the service's HTTP client: the given proxy (and no-proxy list), only the given CA,
// names from the hosts file, the given connect timeout, no idle connections kept.
func backChannel(timeout time.Duration) *http.Client {
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(env("SSO_CA_FILE"))
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		logger.Fatalf("ERROR reading SSO_CA_FILE: %v", err)
	}
	hosts := hostsFromFile(env("SSO_HOSTS_FILE"))
	dialer := &net.Dialer{Timeout: timeout}
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		if net.ParseIP(host) == nil {
			ip, known := hosts[strings.ToLower(host)]
			if !known {
				return nil, &net.OpError{Op: "dial", Net: network,
					Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
			}
			host = ip
		}
		return dialer.DialContext(ctx, network, net.JoinHostPort(host, port))
	}
	proxy := func(*http.Request) (*url.URL, error) { return nil, nil }
	if env("SSO_PROXY") != "" {
		proxyURL, err := url.Parse(env("SSO_PROXY"))
		if err != nil {
			logger.Fatalf("ERROR parsing SSO_PROXY: %v", err)
		}
		noProxy := strings.Split(env("SSO_NO_PROXY"), ",")
		proxy = func(request *http.Request) (*url.URL, error) {
			host := strings.ToLower(request.URL.Hostname())
			for _, entry := range noProxy {
				entry = strings.ToLower(strings.TrimSpace(entry))
				if entry != "" && (host == strings.TrimPrefix(entry, ".") || strings.HasSuffix(host, "."+strings.TrimPrefix(entry, "."))) {
					return nil, nil
				}
			}
			return proxyURL, nil
		}
	}
	return &http.Client{
		// The connect timeout is the dialer's; the whole exchange may take twice as long (distinct
		// timers, as services usually set them, so that one timeout is always worded the same).
		Timeout: 2 * timeout,
		Transport: &http.Transport{
			Proxy:             proxy,
			DialContext:       dial,
			TLSClientConfig:   &tls.Config{RootCAs: pool},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func login(w http.ResponseWriter, r *http.Request) {
	p := pending{state: random(), nonce: random(), verifier: random() + random()}
	session := random()
	sessions.Store(session, p)
	http.SetCookie(w, &http.Cookie{Name: "go_rp_session", Value: session, Path: "/", HttpOnly: true})
	http.Redirect(w, r, oauthCfg.AuthCodeURL(p.state, oidc.Nonce(p.nonce),
		oauth2.SetAuthURLParam("code_challenge", challenge(p.verifier)),
		oauth2.SetAuthURLParam("code_challenge_method", "S256")), http.StatusFound)
}

// signIn handles the callback: state, code exchange, ID token verification, nonce.
func signIn(r *http.Request) error {
	ctx := oidc.ClientContext(context.WithValue(r.Context(), oauth2.HTTPClient, httpClient), httpClient)
	if e := r.URL.Query().Get("error"); e != "" {
		return fmt.Errorf("validating the authorization response failed: %s: %s", e, r.URL.Query().Get("error_description"))
	}
	cookie, err := r.Cookie("go_rp_session")
	var p pending
	if err == nil {
		if stored, ok := sessions.LoadAndDelete(cookie.Value); ok {
			p = stored.(pending)
		}
	}
	if p.state == "" || r.URL.Query().Get("state") != p.state {
		return fmt.Errorf("validating the authorization response failed: state mismatch")
	}
	token, err := oauthCfg.Exchange(ctx, r.URL.Query().Get("code"), oauth2.SetAuthURLParam("code_verifier", p.verifier))
	if err != nil {
		return fmt.Errorf("exchanging authorization tokens failed: %w", err)
	}
	rawIDToken, ok := token.Extra("id_token").(string)
	if !ok {
		return fmt.Errorf("validating the ID token failed: no id_token field in oauth2 token")
	}
	idToken, err := verifier.Verify(ctx, rawIDToken)
	if err != nil {
		return fmt.Errorf("validating the ID token failed: %w", err)
	}
	if idToken.Nonce != p.nonce {
		return fmt.Errorf("validating the ID token failed: invalid nonce")
	}
	logger.Printf("INFO signed in %s", idToken.Subject)
	return nil
}

func callback(w http.ResponseWriter, r *http.Request) {
	if err := signIn(r); err != nil {
		logger.Printf("ERROR sign-in failed: %v", err)
		fmt.Println("sso-repro-rp: sign-in failed")
		http.Error(w, "Sign-in failed", http.StatusUnauthorized)
		return
	}
	fmt.Println("sso-repro-rp: signed in")
	fmt.Fprintln(w, "signed in")
}

func main() {
	millis, _ := strconv.Atoi(env("SSO_TIMEOUT_MS"))
	httpClient = backChannel(time.Duration(millis) * time.Millisecond)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		logger.Fatalf("ERROR listening: %v", err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	authStyle := oauth2.AuthStyleInHeader
	if env("SSO_CLIENT_AUTH_METHOD") == "client_secret_post" {
		authStyle = oauth2.AuthStyleInParams
	}
	oauthCfg = oauth2.Config{
		ClientID:     env("SSO_CLIENT_ID"),
		ClientSecret: env("SSO_CLIENT_SECRET"),
		RedirectURL:  fmt.Sprintf("http://%s:%d/callback", env("SSO_RP_HOST"), port),
		Scopes:       []string{oidc.ScopeOpenID},
	}
	oidcConfig := &oidc.Config{ClientID: env("SSO_CLIENT_ID")}
	ctx := oidc.ClientContext(context.Background(), httpClient)
	if env("SSO_TOKEN_ENDPOINT") == "" {
		// Discovery, as go-oidc's example does it.
		provider, err := oidc.NewProvider(ctx, env("SSO_ISSUER"))
		if err != nil {
			// A service that cannot discover its provider cannot sign anyone in: it says why at each
			// callback (it does not exit, so that the harness can drive it).
			discoveryErr := fmt.Errorf("fetching the provider metadata failed: %w", err)
			startFailing(listener, port, discoveryErr)
			return
		}
		oauthCfg.Endpoint = provider.Endpoint()
		verifier = provider.Verifier(oidcConfig)
	} else {
		oauthCfg.Endpoint = oauth2.Endpoint{AuthURL: env("SSO_AUTHORIZATION_ENDPOINT"), TokenURL: env("SSO_TOKEN_ENDPOINT")}
		verifier = oidc.NewVerifier(env("SSO_ISSUER"), oidc.NewRemoteKeySet(ctx, env("SSO_JWKS_URI")), oidcConfig)
	}
	oauthCfg.Endpoint.AuthStyle = authStyle
	mux := http.NewServeMux()
	mux.HandleFunc("/login", login)
	mux.HandleFunc("/callback", callback)
	fmt.Printf("sso-repro-rp ready on port %d\n", port)
	logger.Fatal(http.Serve(listener, mux))
}

// startFailing serves a login that cannot start: /login answers 500 with the discovery error.
func startFailing(listener net.Listener, port int, err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		logger.Printf("ERROR sign-in failed: %v", err)
		fmt.Println("sso-repro-rp: sign-in failed")
		http.Error(w, "Sign-in is not available", http.StatusInternalServerError)
	})
	fmt.Printf("sso-repro-rp ready on port %d\n", port)
	logger.Fatal(http.Serve(listener, mux))
}

// challenge is the PKCE S256 code challenge of a verifier.
func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
