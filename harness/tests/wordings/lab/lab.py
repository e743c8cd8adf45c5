#!/usr/bin/env python3
"""Produces real client wordings for the corpus (`../wordings.tsv`), by making each client fail for real.

Every fault is made on the wire, on loopback, in a private network namespace (`unshare -mn`) with its
own /etc/hosts (idp.sso.test -> 127.0.0.1) and /etc/resolv.conf (a resolver on 127.0.0.1 that answers
NXDOMAIN): a forward proxy that refuses CONNECT the way the harness's proxy does (status line, HTML
page, close) or the way squid does (squid's headers and page, keep-alive), TLS servers with a
certificate that is untrusted / expired / for another name, a closed port, a server that resets, a
server that never answers, and a token endpoint that answers OAuth errors. Nothing leaves the machine.

Clients: Java 17 HttpURLConnection and HttpClient, Python requests / httpx / urllib, curl, Node 20
fetch and https, Go net/http and golang.org/x/oauth2, and Apache httpd + mod_auth_openidc (a sign-in
through `apache2 -X`: its error_log lines; it alone also meets the ID-token faults: a token signed by an
unpublished key, another issuer, audience or nonce, an expired token), each when installed.
`python3 lab.py CASE…` runs only those cases. The output is one TSV
row per (client, fault): `client<TAB>root cause<TAB>text`, the text as the program printed it (stack
frames cut to the first of each exception), newlines as `\\n`. The root cause is the fault made, not
what any classifier says.

Run: `python3 harness/tests/wordings/lab/lab.py > /tmp/lab.tsv` (needs root for unshare).
"""

import datetime
import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = sys.executable


def in_namespace():
    if os.environ.get("SSO_LAB_NS") == "1":
        return
    env = dict(os.environ, SSO_LAB_NS="1")
    for v in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "ALL_PROXY"]:
        env.pop(v, None)
    sys.exit(subprocess.call(["unshare", "-mn", PYTHON, os.path.abspath(__file__)] + sys.argv[1:], env=env))


def private_names(work):
    subprocess.check_call(["ip", "link", "set", "lo", "up"])
    hosts = os.path.join(work, "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n127.0.0.1 idp.sso.test\n127.0.0.1 rp.sso.test\n")
    resolv = os.path.join(work, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    subprocess.check_call(["mount", "--bind", hosts, "/etc/hosts"])
    subprocess.check_call(["mount", "--bind", resolv, "/etc/resolv.conf"])


def nxdomain_resolver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))

    def serve():
        while True:
            query, peer = sock.recvfrom(512)
            if len(query) < 12:
                continue
            # Same id and question, QR=1, RD/RA, RCODE=3 (NXDOMAIN), no answers.
            header = query[:2] + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0)
            sock.sendto(header + query[12:], peer)

    threading.Thread(target=serve, daemon=True).start()


def certificates(work):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(stem, key, cert):
        with open(os.path.join(work, stem + ".key"), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(os.path.join(work, stem + ".pem"), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        return os.path.join(work, stem + ".pem"), os.path.join(work, stem + ".key")

    def cert(subject, issuer, public, signer, hosts, start, end, ca=False):
        b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer)).public_key(public)
             .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if hosts:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("sso-repro lab CA", "sso-repro lab CA", ca_key.public_key(), ca_key, [], now - day, now + day, ca=True)
    out = {"ca": write("ca", ca_key, ca)[0]}
    for stem, hosts, start, end in [
        ("valid", ["idp.sso.test"], now - day, now + day),
        ("expired", ["idp.sso.test"], now - 3 * day, now - 2 * day),
        ("othername", ["other.sso.test"], now - day, now + day),
    ]:
        key = ec.generate_private_key(ec.SECP256R1())
        out[stem] = write(stem, key, cert(hosts[0], "sso-repro lab CA", key.public_key(), ca_key, hosts, start, end))
    key = ec.generate_private_key(ec.SECP256R1())
    out["selfsigned"] = write("selfsigned", key, cert("idp.sso.test", "idp.sso.test", key.public_key(), key,
                                                      ["idp.sso.test"], now - day, now + day))
    return out


# The token endpoint's answers, by path (the harness IdP's own bodies).
ANSWERS = {
    "/oauth/v1/token": (401, "application/json",
                              '{"error":"invalid_client","error_description":"client authentication failed"}'),
    "/oauth/v2/token": (400, "application/json",
                             '{"error":"invalid_grant","error_description":"authorization code already used"}'),
    "/oauth/v3/token": (400, "application/json",
                            '{"error":"invalid_grant","error_description":"redirect_uri does not match the authorization request"}'),
    "/oauth/v4/token": (400, "application/json", '{"error":"invalid_grant","error_description":"PKCE verification failed"}'),
    "/oauth/v5/token": (500, "text/plain", "internal error"),
    "/oauth/v6/token": (200, "text/html; charset=utf-8",
                    "<!DOCTYPE html>\n<html><body><h1>Sign-in error</h1><p>maintenance</p></body></html>\n"),
}


class Tokens:
    """RS256 ID tokens for the ID-token faults: one published key, one that signs the bad signature."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import rsa
        self.published = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.unpublished = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.issuer, self.client_id, self.nonce = "", "sso-repro-rp", ""

    @staticmethod
    def b64(data):
        import base64
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def jwks(self):
        numbers = self.published.public_key().public_numbers()
        as_bytes = lambda n: n.to_bytes((n.bit_length() + 7) // 8, "big")
        return json.dumps({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                                     "n": self.b64(as_bytes(numbers.n)), "e": self.b64(as_bytes(numbers.e))}]})

    def id_token(self, fault):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "alice", "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": self.nonce}
        if fault == "issuer":
            claims["iss"] = "https://evil.sso.test"
        elif fault == "audience":
            claims["aud"] = "another-client"
        elif fault == "nonce":
            claims["nonce"] = "another-nonce"
        elif fault == "expired":
            claims["iat"], claims["exp"] = now - 900, now - 600
        header = self.b64(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
        payload = self.b64(json.dumps(claims).encode())
        signer = self.unpublished if fault == "signature" else self.published
        signature = signer.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{self.b64(signature)}"


TOKENS = None
ID_TOKEN_FAULTS = {"/oauth/s/token": "signature", "/oauth/i/token": "issuer", "/oauth/a/token": "audience",
                   "/oauth/n/token": "nonce", "/oauth/e/token": "expired"}


class TokenHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, kind, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer(200, "application/json", TOKENS.jwks())

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path in ID_TOKEN_FAULTS:
            body = json.dumps({"access_token": "a", "token_type": "Bearer", "expires_in": 300,
                               "id_token": TOKENS.id_token(ID_TOKEN_FAULTS[self.path])})
            return self.answer(200, "application/json", body)
        status, kind, body = ANSWERS.get(self.path, (200, "application/json", '{"access_token":"a","token_type":"Bearer"}'))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def tls_server(certfile, keyfile):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TokenHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def raw_server(on_connection):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held = []

    def serve():
        while True:
            conn, _ = listener.accept()
            held.append(conn)
            threading.Thread(target=on_connection, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def reset(conn):
    try:
        conn.settimeout(1)
        conn.recv(4096)
    except OSError:
        pass
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def hang(conn):
    threading.Event().wait(30)


PHRASES = {403: "Forbidden", 407: "Proxy Authentication Required", 502: "Bad Gateway", 503: "Service Unavailable"}


def harness_proxy(status):
    """Refuses every request as the harness's proxy does: status line, HTML page, close."""
    phrase = PHRASES[status]

    def answer(conn):
        read_head(conn)
        body = (f"<!DOCTYPE html>\n<html><head><title>{status} {phrase}</title></head><body><h1>{status} {phrase}</h1>"
                "<p>The sso-repro proxy refused this request.</p></body></html>\n")
        extra = 'Proxy-Authenticate: Basic realm="corp"\r\n' if status == 407 else ""
        conn.sendall((f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/html; charset=utf-8\r\n{extra}"
                      f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}").encode())
        conn.close()

    return raw_server(answer)


SQUID_PAGE = """<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">
<html><head>
<meta type="copyright" content="Copyright (C) 1996-2022 The Squid Software Foundation and contributors">
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>ERROR: The requested URL could not be retrieved</title>
</head><body id=ERR_ACCESS_DENIED>
<div id="titles">
<h1>ERROR</h1>
<h2>The requested URL could not be retrieved</h2>
</div>
<hr>
<div id="content">
<p>The following error was encountered while trying to retrieve the URL: <a href="idp.sso.test:443">idp.sso.test:443</a></p>
<blockquote id="error">
<p><b>Access Denied.</b></p>
</blockquote>
<p>Access control configuration prevents your request from being allowed at this time. Please contact your service provider if you feel this is incorrect.</p>
</div>
</body></html>
"""


def squid_proxy():
    """Refuses like squid 5.7: its headers and page, and the socket stays open."""

    def answer(conn):
        read_head(conn)
        body = SQUID_PAGE.encode()
        conn.sendall(("HTTP/1.1 403 Forbidden\r\nServer: squid/5.7\r\nMime-Version: 1.0\r\nContent-Type: text/html;charset=utf-8\r\n"
                      f"Content-Length: {len(body)}\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\nVary: Accept-Language\r\n"
                      "Content-Language: en\r\nVia: 1.1 proxy (squid/5.7)\r\nConnection: keep-alive\r\n\r\n").encode() + body)
        threading.Event().wait(5)

    return raw_server(answer)


def forwarding_proxy(target_port):
    """Allows CONNECT (to the one target) and relays bytes: for a token endpoint's answer through a proxy."""

    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def answer(conn):
        read_head(conn)
        upstream = socket.create_connection(("127.0.0.1", target_port))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pipe, args=(upstream, conn), daemon=True).start()
        pipe(conn, upstream)

    return raw_server(answer)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PY_REQUESTS = """
import logging, sys, traceback, requests
url, proxy, ca = sys.argv[1], sys.argv[2], sys.argv[3]
proxies = {"https": "http://127.0.0.1:" + proxy} if proxy != "-" else {}
try:
    r = requests.post(url, data={"grant_type": "authorization_code", "code": "c"}, proxies=proxies, verify=ca, timeout=1)
    if r.status_code >= 400:
        logging.error("token endpoint answered: %s", r.text)
    r.raise_for_status()
    print("status", r.status_code, r.json()["access_token"])
except Exception:
    traceback.print_exc()
"""

PY_HTTPX = """
import logging, sys, traceback, httpx
url, proxy, ca = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    with httpx.Client(proxy="http://127.0.0.1:" + proxy if proxy != "-" else None, verify=ca, timeout=1) as c:
        r = c.post(url, data={"grant_type": "authorization_code", "code": "c"})
        if r.status_code >= 400:
            logging.error("token endpoint answered: %s", r.text)
        r.raise_for_status()
        print("status", r.status_code, r.json()["access_token"])
except Exception:
    traceback.print_exc()
"""

PY_URLLIB = """
import json, sys, ssl, traceback, urllib.request, urllib.error
url, proxy, ca = sys.argv[1], sys.argv[2], sys.argv[3]
handlers = [urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca))]
handlers.append(urllib.request.ProxyHandler({"https": "http://127.0.0.1:" + proxy} if proxy != "-" else {}))
opener = urllib.request.build_opener(*handlers)
try:
    r = opener.open(urllib.request.Request(url, data=b"grant_type=authorization_code&code=c"), timeout=1)
    print("status", r.status, json.loads(r.read())["access_token"])
except urllib.error.HTTPError as e:
    traceback.print_exc()
    print(e.read().decode(), file=sys.stderr)
except Exception:
    traceback.print_exc()
"""


def trim(text):
    """Cuts stack frames to the first of each exception (Java `\tat`, Python `  File`, Node `    at`) and drops
    Node's property dumps but for the error codes, so a row stays short; every other line is kept as printed."""
    out, kept_frame = [], False
    node_keys = ("errno:", "code:", "syscall:", "hostname:", "address:", "port:", "reason:", "host:", "[cause]:")
    skipping_source = False
    for line in text.rstrip("\n").split("\n"):
        stripped = line.strip()
        if line.startswith("\tat ") or (line.startswith("    ") and stripped.startswith("at ")):
            if kept_frame:
                continue
            kept_frame = True
        elif line.startswith("\t... ") and stripped.endswith(" more"):
            continue
        elif line.startswith("  File \""):
            skipping_source = kept_frame
            if kept_frame:
                continue
            kept_frame = True
        elif line.startswith("    ") and not stripped.startswith(node_keys) and stripped not in ("}", "},"):
            if skipping_source or kept_frame or stripped.startswith(("at ", "^", "~")):
                continue
        elif line.startswith("  ") and stripped and not stripped.startswith(node_keys) and stripped not in ("}", "},") \
                and ":" in stripped and not stripped.startswith(("File", "[")):
            continue  # a Node property other than the error's codes
        else:
            kept_frame, skipping_source = False, False
        out.append(line)
    return "\n".join(out)


def run(argv, env=None, timeout=20):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None
    except FileNotFoundError:
        return None
    text = (p.stderr + p.stdout).strip()
    if not text or text.startswith("status "):
        return None
    return trim(text)


APACHE_CONF = """ServerRoot {work}
ServerName rp.sso.test
Listen 127.0.0.1:{port}
PidFile {work}/httpd.pid
DefaultRuntimeDir {work}
Mutex file:{work} default
ErrorLog {work}/error_log
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so
LoadModule auth_openidc_module /usr/lib/apache2/modules/mod_auth_openidc.so
OIDCProviderIssuer {issuer}
OIDCProviderAuthorizationEndpoint {issuer}/authorize
OIDCProviderTokenEndpoint {token}
OIDCProviderTokenEndpointAuth client_secret_basic
OIDCProviderJwksUri {issuer}/jwks
OIDCClientID sso-repro-rp
OIDCClientSecret wrong-secret
OIDCRedirectURI http://rp.sso.test:{port}/callback
OIDCCryptoPassphrase lab-only-passphrase
OIDCCABundlePath {ca}
OIDCHTTPTimeoutLong 2
OIDCHTTPTimeoutShort 2
{proxy}
<Location />
  AuthType openid-connect
  Require valid-user
</Location>
"""


def apache(work, ca, target, proxy):
    """Signs in once through Apache httpd + mod_auth_openidc; returns its error_log lines, or None."""
    if not (os.path.exists("/usr/sbin/apache2") and os.path.exists("/usr/lib/apache2/modules/mod_auth_openidc.so")):
        return None
    root = tempfile.mkdtemp(prefix="httpd-", dir=work)
    os.chmod(root, 0o755)
    port = closed_port()
    parsed = urllib.parse.urlsplit(target)
    issuer = f"https://{parsed.hostname}:{parsed.port}"
    with open(os.path.join(root, "httpd.conf"), "w") as f:
        f.write(APACHE_CONF.format(work=root, port=port, issuer=issuer, token=target, ca=ca,
                                   proxy=f"OIDCOutgoingProxy 127.0.0.1:{proxy}" if proxy != "-" else ""))
    TOKENS.issuer = issuer
    httpd = subprocess.Popen(["/usr/sbin/apache2", "-X", "-f", os.path.join(root, "httpd.conf")],
                             stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "stderr"), "w"))
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                if httpd.poll() is not None:
                    print("# apache exited: " + open(os.path.join(root, "error_log")).read()[-600:], file=sys.stderr)
                    return None
                threading.Event().wait(0.05)  # a bounded poll for a foreign process's listener
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/protected", headers={"Host": f"rp.sso.test:{port}", "Accept": "text/html", "User-Agent": "Mozilla/5.0 (sso-repro lab)"})
        r = c.getresponse()
        r.read()
        location = r.getheader("Location") or ""
        cookies = "; ".join(v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        if "state" not in query:
            print(f"# apache answered {r.status} without a state: {location}", file=sys.stderr)
            return None
        TOKENS.nonce = query.get("nonce", "")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/callback?" + urllib.parse.urlencode({"code": "lab-code", "state": query["state"]}),
                  headers={"Host": f"rp.sso.test:{port}", "Cookie": cookies, "Accept": "text/html", "User-Agent": "Mozilla/5.0 (sso-repro lab)"})
        c.getresponse().read()
    finally:
        httpd.terminate()
        httpd.wait(5)
    with open(os.path.join(root, "error_log")) as f:
        lines = [l.rstrip("\n") for l in f if ":error]" in l]
    return "\n".join(lines) or None


def main():
    in_namespace()
    work = tempfile.mkdtemp(prefix="sso-lab-")
    os.chmod(work, 0o755)  # Apache reads the CA file as www-data
    try:
        private_names(work)
        nxdomain_resolver()
        certs = certificates(work)
        ca = certs["ca"]
        store = os.path.join(work, "trust.p12")
        subprocess.check_call(["keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", ca, "-keystore", store,
                               "-storetype", "PKCS12", "-storepass", "changeit"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        global TOKENS
        TOKENS = Tokens()
        valid = tls_server(*certs["valid"])
        tunnel = forwarding_proxy(valid)
        url = lambda port, path="/token": f"https://idp.sso.test:{port}{path}"
        # (case, cause, URL, proxy port or "-")
        cases = [
            ("proxy-403", "proxy-refused-connect", url(valid), str(harness_proxy(403))),
            ("proxy-502", "proxy-refused-connect", url(valid), str(harness_proxy(502))),
            ("proxy-503", "proxy-refused-connect", url(valid), str(harness_proxy(503))),
            ("proxy-407", "proxy-auth-required", url(valid), str(harness_proxy(407))),
            ("squid-403", "proxy-refused-connect", url(valid), str(squid_proxy())),
            ("dns", "dns-failure", "https://nowhere.sso.test:8443/token", "-"),
            ("refused", "connection-refused", url(closed_port()), "-"),
            ("reset", "connection-reset", url(raw_server(reset)), "-"),
            ("hang", "timeout", url(raw_server(hang)), "-"),
            ("untrusted", "untrusted-certificate", url(tls_server(*certs["selfsigned"])), "-"),
            ("expired", "expired-certificate", url(tls_server(*certs["expired"])), "-"),
            ("othername", "hostname-mismatch", url(tls_server(*certs["othername"])), "-"),
            ("invalid-client", "invalid-client", url(valid, "/oauth/v1/token"), "-"),
            ("invalid-grant", "invalid-grant", url(valid, "/oauth/v2/token"), "-"),
            ("redirect-uri", "redirect-uri-mismatch", url(valid, "/oauth/v3/token"), "-"),
            ("pkce", "pkce-mismatch", url(valid, "/oauth/v4/token"), "-"),
            ("server-500", "server-error", url(valid, "/oauth/v5/token"), "-"),
            ("html", "invalid-token-response", url(valid, "/oauth/v6/token"), "-"),
            ("invalid-client-via-proxy", "invalid-client", url(valid, "/oauth/v1/token"), str(tunnel)),
            ("bad-signature", "bad-signature", url(valid, "/oauth/s/token"), "-"),
            ("issuer", "issuer-mismatch", url(valid, "/oauth/i/token"), "-"),
            ("audience", "audience-mismatch", url(valid, "/oauth/a/token"), "-"),
            ("nonce", "nonce-mismatch", url(valid, "/oauth/n/token"), "-"),
            ("token-expired", "token-expired", url(valid, "/oauth/e/token"), "-"),
        ]
        java_classes = os.path.join(work, "java")
        have_java = shutil.which("javac") and subprocess.call(
            ["javac", "-d", java_classes, os.path.join(HERE, "Probe.java")]) == 0
        go = shutil.which("go") or ("/usr/lib/go/bin/go" if os.path.exists("/usr/lib/go/bin/go") else None)
        go_probe = os.path.join(work, "probe")
        have_go = go and subprocess.call([go, "build", "-o", go_probe, os.path.join(HERE, "probe.go")],
                                         env=dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode",
                                                  GOCACHE=os.path.join(work, "gocache"))) == 0
        node_env = dict(os.environ, NODE_EXTRA_CA_CERTS=ca)
        go_env = dict(os.environ, SSL_CERT_FILE=ca)
        java = ["java", "-Dhttp.nonProxyHosts=", "-Djdk.http.auth.tunneling.disabledSchemes=",
                f"-Djavax.net.ssl.trustStore={store}", "-Djavax.net.ssl.trustStorePassword=changeit", "-cp", java_classes,
                "Probe"]
        only = sys.argv[1:]
        for case, cause, target, proxy in cases:
            if only and case not in only:
                continue
            if case in ("token-expired", "bad-signature", "issuer", "audience", "nonce") or "apache" in only:
                text = apache(work, ca, target, proxy)
                if text is None:
                    print(f"# apache {case}: no failure printed", file=sys.stderr)
                else:
                    print("mod_auth_openidc\t%s\t%s" % (cause, text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")), flush=True)
                continue
            text = apache(work, ca, target, proxy)
            if text is not None:
                print("mod_auth_openidc\t%s\t%s" % (cause, text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")), flush=True)
            body_case = case in ("invalid-client", "invalid-grant", "redirect-uri", "pkce", "server-500", "html",
                                 "invalid-client-via-proxy")
            probes = []
            if have_java and not body_case:
                probes.append(("java-httpurlconnection", java + ["urlconnection", target, proxy], None))
                probes.append(("java-httpclient", java + ["httpclient", target, proxy], None))
            probes.append(("python-requests", [PYTHON, "-c", PY_REQUESTS, target, proxy, ca], None))
            probes.append(("python-httpx", [PYTHON, "-c", PY_HTTPX, target, proxy, ca], None))
            probes.append(("python-urllib", [PYTHON, "-c", PY_URLLIB, target, proxy, ca], None))
            if not body_case:
                curl = ["curl", "-sS", "--max-time", "1", "--cacert", ca, "-d", "grant_type=authorization_code", target]
                if proxy != "-":
                    curl += ["--proxy", "http://127.0.0.1:" + proxy]
                probes.append(("curl", curl, None))
                if proxy == "-":
                    probes.append(("node-fetch", ["node", os.path.join(HERE, "probe.mjs"), "fetch", target], node_env))
                    probes.append(("node-https", ["node", os.path.join(HERE, "probe.mjs"), "https", target], node_env))
            if have_go:
                if not body_case:
                    probes.append(("go-net-http", [go_probe, "nethttp", target, proxy], go_env))
                probes.append(("go-x-oauth2", [go_probe, "oauth2", target, proxy], go_env))
            for client, argv, env in probes:
                text = run(argv, env)
                if text is None:
                    print(f"# {client} {case}: no failure printed", file=sys.stderr)
                    continue
                escaped = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                print(f"{client}\t{cause}\t{escaped}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
