"""A Flask web app that signs users in with Authlib's Flask client, written the way Authlib's
documentation shows an OpenID Connect login ("Flask OAuth Client", `oauth.register` +
`authorize_redirect` + `authorize_access_token`), for sso-repro's real-RP tests.

Deployment settings come from the sso-repro external-RP contract (harness/src/command.rs): the
proxy and no-proxy list as the usual `HTTPS_PROXY` / `NO_PROXY` variables (requests reads them), the
CA bundle as `verify`, the provider configured (issuer, endpoints, JWKS) or discovered. Errors are
not caught: Flask logs them ("Exception on /callback [GET]" and the traceback) and answers 500, as
such an app does. After each callback (or a login it could not start) it prints the contract's
verdict line. Names resolve from SSO_HOSTS_FILE only (see `resolve_from_hosts_file`).
"""

import os
import socket
import sys

from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, request, session
from werkzeug.serving import make_server

ENV = os.environ

# One stream for the log and the verdicts, so that they arrive in the order they were written.
os.dup2(sys.stdout.fileno(), sys.stderr.fileno())
sys.stdout.reconfigure(line_buffering=True)


def resolve_from_hosts_file():
    """The names the harness gives this RP, from SSO_HOSTS_FILE; any other name is unknown, as in DNS."""
    hosts = {}
    with open(ENV["SSO_HOSTS_FILE"]) as file:
        for line in file:
            fields = line.split("#", 1)[0].split()
            for name in fields[1:]:
                hosts[name.lower()] = fields[0]
    system_getaddrinfo = socket.getaddrinfo

    def is_address(name):
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
            return True
        except OSError:
            return False

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not is_address(name):
            if name.lower() not in hosts:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            name = hosts[name.lower()]
        return system_getaddrinfo(name, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


resolve_from_hosts_file()
os.environ["REQUESTS_CA_BUNDLE"] = ENV["SSO_CA_FILE"]
if ENV.get("SSO_PROXY"):
    os.environ["HTTPS_PROXY"] = os.environ["HTTP_PROXY"] = ENV["SSO_PROXY"]
    os.environ["NO_PROXY"] = ENV.get("SSO_NO_PROXY", "")

app = Flask(__name__)
app.secret_key = os.urandom(16)
server = make_server("127.0.0.1", 0, app, threaded=True)
REDIRECT_URI = f"http://{ENV['SSO_RP_HOST']}:{server.server_port}/callback"

client_kwargs = {
    "scope": "openid",
    "code_challenge_method": "S256",
    "token_endpoint_auth_method": ENV["SSO_CLIENT_AUTH_METHOD"],
    "verify": ENV["SSO_CA_FILE"],
    "default_timeout": int(ENV["SSO_TIMEOUT_MS"]) / 1000,
}
if not ENV.get("SSO_PROXY"):
    client_kwargs["trust_env"] = False
provider = {"issuer": ENV["SSO_ISSUER"]}
if ENV.get("SSO_TOKEN_ENDPOINT"):
    provider.update(
        authorize_url=ENV["SSO_AUTHORIZATION_ENDPOINT"],
        access_token_url=ENV["SSO_TOKEN_ENDPOINT"],
        jwks_uri=ENV["SSO_JWKS_URI"],
    )
else:
    provider["server_metadata_url"] = ENV["SSO_ISSUER"].rstrip("/") + "/.well-known/openid-configuration"

oauth = OAuth(app)
oauth.register(
    name="sso",
    client_id=ENV["SSO_CLIENT_ID"],
    client_secret=ENV["SSO_CLIENT_SECRET"],
    client_kwargs=client_kwargs,
    **provider,
)


@app.route("/login")
def login():
    return oauth.sso.authorize_redirect(REDIRECT_URI)


@app.route("/callback")
def callback():
    token = oauth.sso.authorize_access_token()
    session["user"] = token["userinfo"]
    app.logger.info("signed in %s", token["userinfo"]["sub"])
    return "signed in"


@app.after_request
def verdict(response):
    if request.path == "/callback" or (request.path == "/login" and response.status_code >= 400):
        print("sso-repro-rp: signed in" if response.status_code < 400 else "sso-repro-rp: sign-in failed")
    return response


if __name__ == "__main__":
    import logging

    from flask.logging import default_handler

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.logger.setLevel(logging.INFO)
    # Flask's own format without the time (the harness snapshots the log).
    default_handler.setFormatter(logging.Formatter("%(levelname)s in %(module)s: %(message)s"))
    print(f"sso-repro-rp ready on port {server.server_port}")
    server.serve_forever()
