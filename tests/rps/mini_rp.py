"""A minimal OpenID Connect relying party in Python, for sso-repro's "bring your own RP" tests.

It follows the sso-repro external-RP contract (harness/src/command.rs): settings in SSO_* environment
variables, "sso-repro-rp ready on port N" when listening, and after each callback "sso-repro-rp:
signed in" or, after printing the traceback, "sso-repro-rp: sign-in failed". The code exchange uses
`requests` (python mini_rp.py requests) or the curl command line (python mini_rp.py curl). It does
not validate the ID token (a product's own RP would): it only gets as far as the tokens.
"""

import http.server
import os
import subprocess
import sys
import traceback
import urllib.parse
import uuid

CLIENT = sys.argv[1] if len(sys.argv) > 1 else "requests"
ENV = os.environ
PENDING = set()
REDIRECT_URI = ""


class AuthenticationFailed(Exception):
    pass


def exchange_with_requests(form):
    import requests

    session = requests.Session()
    session.trust_env = False  # only the proxy the harness gives
    proxies = {"https": ENV["SSO_PROXY"], "http": ENV["SSO_PROXY"]} if ENV.get("SSO_PROXY") else {}
    response = session.post(
        ENV["SSO_TOKEN_ENDPOINT"],
        data=form,
        auth=(ENV["SSO_CLIENT_ID"], ENV["SSO_CLIENT_SECRET"]),
        proxies=proxies,
        verify=ENV["SSO_CA_FILE"],
        timeout=int(ENV["SSO_TIMEOUT_MS"]) / 1000,
    )
    if response.status_code != 200:
        raise OSError(f"token endpoint answered {response.status_code}: {response.text}")
    return response.json()


def exchange_with_curl(form):
    command = ["curl", "--silent", "--show-error", "--fail-with-body", "--max-time", str(int(ENV["SSO_TIMEOUT_MS"]) / 1000),
               "--cacert", ENV["SSO_CA_FILE"], "--user", f"{ENV['SSO_CLIENT_ID']}:{ENV['SSO_CLIENT_SECRET']}",
               "--data", urllib.parse.urlencode(form), ENV["SSO_TOKEN_ENDPOINT"]]
    if ENV.get("SSO_PROXY"):
        command[1:1] = ["--proxy", ENV["SSO_PROXY"]]
    else:
        command[1:1] = ["--noproxy", "*"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise OSError(" ".join(part for part in [done.stderr.strip(), done.stdout.strip()] if part))
    return done.stdout


def exchange(code):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    try:
        return exchange_with_curl(form) if CLIENT == "curl" else exchange_with_requests(form)
    except Exception as error:
        raise AuthenticationFailed("Exchanging authorization tokens failed") from error


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/login":
            state = str(uuid.uuid4())
            PENDING.add(state)
            location = ENV["SSO_AUTHORIZATION_ENDPOINT"] + "?" + urllib.parse.urlencode({
                "response_type": "code", "scope": "openid", "client_id": ENV["SSO_CLIENT_ID"],
                "redirect_uri": REDIRECT_URI, "state": state, "nonce": str(uuid.uuid4())})
            self.send_response(302)
            self.send_header("Location", location)
            self.end_headers()
            return
        try:
            if query.get("state") not in PENDING:
                raise AuthenticationFailed("Validating the authorization response failed: state mismatch")
            PENDING.discard(query["state"])
            exchange(query.get("code", ""))
            print("INFO tokens received")
            print("sso-repro-rp: signed in", flush=True)
            status, page = 200, b"signed in"
        except AuthenticationFailed:
            traceback.print_exc(file=sys.stdout)
            print("sso-repro-rp: sign-in failed", flush=True)
            status, page = 401, b"Sign-in failed"
        self.send_response(status)
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)


if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    REDIRECT_URI = f"http://{ENV['SSO_RP_HOST']}:{server.server_address[1]}/callback"
    print(f"sso-repro-rp ready on port {server.server_address[1]}", flush=True)
    server.serve_forever()
