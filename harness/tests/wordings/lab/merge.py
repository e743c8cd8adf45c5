#!/usr/bin/env python3
"""Replaces the `lab` rows of ../../wordings.tsv with the rows that lab.py and authlib_probe.py printed.

    python3 lab.py > /tmp/lab.tsv; /usr/bin/python3 authlib_probe.py >> /tmp/lab.tsv
    python3 merge.py /tmp/lab.tsv

lab.py prints `client<TAB>cause<TAB>text`; the corpus row is `lab<TAB>client<TAB>format<TAB>cause<TAB>text`,
the format being `go` for Go's log lines, `apache` for mod_auth_openidc's error_log, `default` otherwise. Header and `doc:` rows are kept."""
import os
import sys

corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "wordings.tsv")
kept = [l for l in open(corpus) if l.startswith("#") or not l.startswith("lab\t")]
header = [l for l in kept if l.startswith("#")]
docs = [l for l in kept if not l.startswith("#")]
FORMATS = {"go": "go", "mod_auth_openidc": "apache"}
lab = []
for line in open(sys.argv[1]):
    client, cause, text = line.rstrip("\n").split("\t", 2)
    lab.append("\t".join(["lab", client, FORMATS.get(client.split("-")[0], "default"), cause, text]) + "\n")
with open(corpus, "w") as f:
    f.writelines(header + lab + docs)
print(f"{len(lab)} lab rows, {len(docs)} documented rows", file=sys.stderr)
