"""Apache httpd + mod_auth_openidc as an RP under the sso-repro external-RP contract
(harness/src/command.rs), for sso-repro's real-RP tests.

Started as `unshare --mount --pid --fork --kill-child python3 launch.py`: in its own mount namespace
it puts SSO_HOSTS_FILE over /etc/hosts (and `hosts: files` in nsswitch.conf), so that libcurl inside
mod_auth_openidc resolves exactly the names the harness gives this RP and never asks a DNS server;
as PID 1 of its own PID namespace it takes Apache with it when the harness kills it.

It writes an httpd.conf from the SSO_* settings (a static provider or discovery, the client,
`OIDCOutgoingProxy`, `OIDCCABundlePath`, timeouts), runs Apache in the foreground (`-DFOREGROUND`) on a port of
its own with PidFile, DefaultRuntimeDir and Mutex in its own directory, and relays what Apache
prints: the error_log and the access log go to one stream, in the order Apache writes them. The
verdict on a callback is what the browser is sent: a redirect back to the protected page means
signed in; anything else (mod_auth_openidc's error page) means failed.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
from urllib.parse import urlsplit

ENV = os.environ
MODULES = "/usr/lib/apache2/modules"
START_TRIES = 3


def isolate_names(directory):
    nsswitch = os.path.join(directory, "nsswitch.conf")
    with open(nsswitch, "w") as file:
        file.write("hosts: files\n")
    for source, target in [(ENV["SSO_HOSTS_FILE"], "/etc/hosts"), (nsswitch, "/etc/nsswitch.conf")]:
        subprocess.run(["mount", "--bind", source, target], check=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seconds(millis):
    # mod_auth_openidc's timeouts are whole seconds.
    return max(1, -(-int(millis) // 1000))


def configuration(directory, port):
    run = os.path.join(directory, "run")
    docs = os.path.join(directory, "htdocs")
    os.makedirs(run, exist_ok=True)
    os.makedirs(docs, exist_ok=True)
    with open(os.path.join(docs, "login"), "w") as page:
        page.write("signed in\n")
    for path in (directory, run, docs):
        os.chmod(path, 0o755)
    modules = ["mpm_event", "authn_core", "authz_core", "authz_user"]
    lines = [f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in modules]
    lines.append(f"LoadModule auth_openidc_module {MODULES}/mod_auth_openidc.so")
    lines += [
        f"ServerRoot {directory}",
        "ServerName rp.sso.test",
        f"Listen 127.0.0.1:{port}",
        f"PidFile {run}/httpd.pid",
        f"DefaultRuntimeDir {run}",
        f"Mutex file:{run} default",
        # One small child process: enough for one browser, quick to start.
        "StartServers 1",
        "ServerLimit 1",
        "ThreadLimit 8",
        "ThreadsPerChild 8",
        "MinSpareThreads 1",
        "MaxSpareThreads 8",
        "MaxRequestWorkers 8",
        "User www-data",
        "Group www-data",
        "ErrorLog /dev/stdout",
        'ErrorLogFormat "[%-m:%l] %M"',
        "LogLevel warn mpm_event:notice",
        'CustomLog /dev/stdout "access: %m %U %>s"',
        f"DocumentRoot {docs}",
        f"OIDCClientID {ENV['SSO_CLIENT_ID']}",
        f"OIDCClientSecret {ENV['SSO_CLIENT_SECRET']}",
        f"OIDCRedirectURI http://{ENV['SSO_RP_HOST']}:{port}/callback",
        f"OIDCCryptoPassphrase {secrets.token_hex(16)}",
        'OIDCScope "openid"',
        "OIDCPKCEMethod S256",
        f"OIDCCABundlePath {ENV['SSO_CA_FILE']}",
        f"OIDCHTTPTimeoutLong {seconds(ENV['SSO_TIMEOUT_MS'])}",
        f"OIDCHTTPTimeoutShort {seconds(ENV['SSO_TIMEOUT_MS'])}",
        "OIDCCacheType shm",
    ]
    if ENV.get("SSO_TOKEN_ENDPOINT"):
        lines += [
            f"OIDCProviderIssuer {ENV['SSO_ISSUER']}",
            f"OIDCProviderAuthorizationEndpoint {ENV['SSO_AUTHORIZATION_ENDPOINT']}",
            f"OIDCProviderTokenEndpoint {ENV['SSO_TOKEN_ENDPOINT']}",
            f"OIDCProviderTokenEndpointAuth {ENV['SSO_CLIENT_AUTH_METHOD']}",
            f"OIDCProviderJwksUri {ENV['SSO_JWKS_URI']}",
        ]
    else:
        lines += [
            f"OIDCProviderMetadataURL {ENV['SSO_ISSUER'].rstrip('/')}/.well-known/openid-configuration",
            f"OIDCProviderTokenEndpointAuth {ENV['SSO_CLIENT_AUTH_METHOD']}",
        ]
    if ENV.get("SSO_PROXY"):
        proxy = urlsplit(ENV["SSO_PROXY"])
        credentials = f"{proxy.username}:{proxy.password}@" if proxy.username else ""
        lines.append(f"OIDCOutgoingProxy http://{credentials}{proxy.hostname}:{proxy.port}")
    # The protected page, and the redirect URI, which mod_auth_openidc serves inside a protected path.
    for location in ["/login", "/callback"]:
        lines += [f"<Location {location}>", "    AuthType openid-connect", "    Require valid-user", "</Location>"]
    path = os.path.join(directory, "httpd.conf")
    with open(path, "w") as file:
        file.write("\n".join(line for line in lines if line) + "\n")
    return path


def main():
    directory = os.path.join(os.path.dirname(ENV["SSO_SETTINGS_FILE"]), "apache")
    os.makedirs(directory, exist_ok=True)
    isolate_names(os.path.dirname(ENV["SSO_SETTINGS_FILE"]))
    environment = {"PATH": ENV.get("PATH", "/usr/sbin:/usr/bin"), "LANG": "C"}
    if ENV.get("SSO_NO_PROXY"):
        # libcurl reads the no-proxy list from the environment even with an explicit proxy.
        environment["no_proxy"] = ENV["SSO_NO_PROXY"]
    for attempt in range(START_TRIES):
        port = free_port()
        conf = configuration(directory, port)
        apache = subprocess.Popen(
            ["apache2", "-DFOREGROUND", "-f", conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=environment)
        ready, port_taken = False, False
        for line in apache.stdout:
            line = line.rstrip("\n")
            if not ready:
                port_taken |= "Address already in use" in line
                if "resuming normal operations" in line:
                    ready = True
                    print(f"sso-repro-rp ready on port {port}", flush=True)
                elif "[core:notice]" not in line:
                    print(line, flush=True)
                continue
            if "[core:notice]" not in line and "[mpm_event:notice]" not in line:
                relay(line)
        status = apache.wait()
        if ready or not port_taken or attempt == START_TRIES - 1:
            print(f"apache2 exited with status {status}", flush=True)
            sys.exit(1)
        # The port was taken between probing and binding: try another.


# The callback's answer; and a login mod_auth_openidc could not start (discovery failed).
CALLBACK = re.compile(r"^access: GET /callback (\d{3})$|^access: GET /login ([45]\d\d)$")


def relay(line):
    callback = CALLBACK.match(line)
    if not line.startswith("access: "):
        # The error_log. The access log is written after the response, when the harness may have
        # read the RP's log already: it only gives the verdict.
        print(line, flush=True)
    if callback:
        signed_in = callback.group(1) == "302"  # back to the protected page
        print("sso-repro-rp: signed in" if signed_in else "sso-repro-rp: sign-in failed", flush=True)


if __name__ == "__main__":
    main()
