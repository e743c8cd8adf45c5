// One token request the way a Go RP makes it (net/http, or x/oauth2's Exchange), the failure logged with log.Printf.
// go run probe.go (nethttp|oauth2) URL PROXY_PORT|-
package main

import (
	"context"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

func main() {
	mode, target, proxy := os.Args[1], os.Args[2], os.Args[3]
	transport := &http.Transport{}
	if proxy != "-" {
		p, _ := url.Parse("http://127.0.0.1:" + proxy)
		transport.Proxy = http.ProxyURL(p)
	}
	client := &http.Client{Transport: transport, Timeout: time.Second}
	if mode == "nethttp" {
		resp, err := client.Post(target, "application/x-www-form-urlencoded", strings.NewReader("grant_type=authorization_code&code=c"))
		if err != nil {
			log.Printf("token request failed: %v", err)
			return
		}
		log.Printf("status %d", resp.StatusCode)
		return
	}
	config := oauth2.Config{ClientID: "sso-repro", ClientSecret: "wrong", Endpoint: oauth2.Endpoint{AuthURL: target, TokenURL: target}, RedirectURL: "http://rp.sso.test/callback"}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	if _, err := config.Exchange(ctx, "c"); err != nil {
		log.Printf("Error redeeming code during OAuth2 callback: token exchange failed: %v", err)
	}
}
