"""ID-token checks the way an Authlib RP makes them (authlib.jose.jwt.decode + claims.validate), each failure
printed as a traceback. Run with a Python that has Authlib (Debian's python3-authlib): prints TSV rows."""
import time, traceback, io
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
other = JsonWebKey.generate_key("RSA", 2048, is_private=True)
now = int(time.time())
base = {"iss": "https://idp.sso.test:8443", "sub": "alice", "aud": "sso-repro-rp", "iat": now, "exp": now + 300, "nonce": "n-1"}
options = {"iss": {"essential": True, "value": "https://idp.sso.test:8443"}, "aud": {"essential": True, "value": "sso-repro-rp"}}


def token(claims, signer=key):
    return jwt.encode({"alg": "RS256"}, claims, signer)


def check(claims, signer=key, verifier=key, nonce="n-1"):
    decoded = jwt.decode(token(claims, signer), verifier.as_dict(), claims_cls=CodeIDToken, claims_options=options,
                         claims_params={"nonce": nonce})
    decoded.validate(leeway=0)


cases = [
    ("bad-signature", dict(base), other, key, "n-1"),
    ("issuer-mismatch", dict(base, iss="https://evil.sso.test"), key, key, "n-1"),
    ("audience-mismatch", dict(base, aud="another-client"), key, key, "n-1"),
    ("token-expired", dict(base, iat=now - 900, exp=now - 600), key, key, "n-1"),
    ("nonce-mismatch", dict(base), key, key, "n-2"),
    ("missing-claim", {k: v for k, v in base.items() if k != "sub"}, key, key, "n-1"),
]
for cause, claims, signer, verifier, nonce in cases:
    try:
        check(claims, signer, verifier, nonce)
    except Exception:
        out = io.StringIO()
        traceback.print_exc(file=out)
        lines = out.getvalue().rstrip("\n").split("\n")
        # The first frame only, as lab.py trims them.
        kept, seen = [], False
        for i, line in enumerate(lines):
            if line.startswith("  "):
                if seen:
                    continue
                if line.startswith("  File"):
                    kept.append(line)
                    seen = True
                continue
            kept.append(line)
        print("python-authlib\t%s\t%s" % (cause, "\\n".join(kept)))
