#!/bin/sh
# Wraps an RP under test and first prints its secrets the ways real programs leak them, so that
# tests/redaction.rs can check none reaches a log. $1: a cookie value, $2: a PKCE verifier (values the
# harness never saw); the rest: the RP's command line.
cookie=$1 verifier=$2
shift 2
basic=$(printf '%s' "$SSO_CLIENT_ID:$SSO_CLIENT_SECRET" | base64 | tr -d '\n')
for out in 1 2; do
  {
    echo "SSO_PROXY=$SSO_PROXY"
    echo "using proxy $SSO_PROXY"
    echo "SSO_CLIENT_SECRET=$SSO_CLIENT_SECRET SSO_PROXY_PASSWORD=$SSO_PROXY_PASSWORD"
    echo "settings: {'client_id': '$SSO_CLIENT_ID', 'client_secret': '$SSO_CLIENT_SECRET'}"
    echo "headers: {'Authorization': 'Basic $basic'}"
    echo "+ curl --user $SSO_CLIENT_ID:$SSO_CLIENT_SECRET --proxy-user $SSO_PROXY_USER:$SSO_PROXY_PASSWORD $SSO_TOKEN_ENDPOINT"
    echo "Set-Cookie: rp_session=$cookie; Path=/; HttpOnly"
    echo "pkce: {\"code_verifier\": \"$verifier\", \"method\": \"S256\"}"
    echo "the configured secret is $SSO_CLIENT_SECRET, the proxy password $SSO_PROXY_PASSWORD"
  } >&$out
done
exec "$@"
