#!/usr/bin/env python3
"""Generate a throwaway Go wrapper module that builds main packages of a module
whose go.mod has replace directives (so `go install mod@ver` refuses it).

usage: mkwrap.py DIR MODULE VERSION [--pkg PKG ...] [--staging-version V] [--replace OLD=NEW@V ...]

- pinned third-party replaces of the upstream go.mod are copied verbatim;
- local replaces of nested modules (MODULE/api => ./api) become requires of the
  nested module at VERSION (tag api/VERSION), falling back to upstream's require;
- with --staging-version, local replaces of modules upstream requires at v0.0.0
  (k8s.io/kubernetes staging repos) are replaced by their published version;
- godebug directives are copied;
- other local replaces (etcd's ../api, FORBIDDEN_DEPENDENCY) are dropped: the
  upstream requires already name published versions.
- each --replace is added as given (work-around for versions the proxy lacks).
Then `go get -tool` each main package and `go mod tidy`.
Only stdlib; needs `go` on PATH and the module proxy.
"""
import argparse
import json
import os
import subprocess
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("module")
    ap.add_argument("version")
    ap.add_argument("--pkg", action="append", default=[])
    ap.add_argument("--staging-version")
    ap.add_argument("--replace", action="append", default=[])
    a = ap.parse_args()
    d = a.dir
    os.makedirs(d, exist_ok=True)

    def run(*cmd: str) -> str:
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
        return subprocess.check_output(cmd, cwd=d, text=True)

    # always regenerate from scratch: deterministic, and no stale state
    for f in ("go.mod", "go.sum"):
        p = os.path.join(d, f)
        if os.path.exists(p):
            os.remove(p)
    run("go", "mod", "init", "e2e.invalid/wrap/" + os.path.basename(os.path.abspath(d)))
    gomod = json.loads(run("go", "mod", "download", "-json", f"{a.module}@{a.version}"))["GoMod"]
    up = json.loads(run("go", "mod", "edit", "-json", gomod))
    req = {q["Path"]: q["Version"] for q in up.get("Require") or []}
    edits = []
    gets = []
    for r in up.get("Replace") or []:
        old, new = r["Old"], r["New"]
        if new.get("Version"):
            lhs = old["Path"] + ("@" + old["Version"] if old.get("Version") else "")
            edits.append(f"-replace={lhs}={new['Path']}@{new['Version']}")
        elif old["Path"].startswith(a.module + "/"):
            gets.append((old["Path"], req.get(old["Path"])))
        elif a.staging_version and req.get(old["Path"]) == "v0.0.0":
            edits.append(f"-replace={old['Path']}={old['Path']}@{a.staging_version}")
        # else: drop (sibling modules with published requires, FORBIDDEN_DEPENDENCY)
    edits += [f"-replace={r}" for r in a.replace]
    # keep upstream's GODEBUG defaults (e.g. k8s: godebug default=go1.25)
    for g in up.get("Godebug") or []:
        edits.append(f"-godebug={g['Key']}={g['Value']}")
    if edits:
        run("go", "mod", "edit", *edits)
    for path, upreq in gets:
        try:
            run("go", "get", f"{path}@{a.version}")
        except subprocess.CalledProcessError:
            if not upreq:
                raise
            run("go", "get", f"{path}@{upreq}")
    pkgs = a.pkg or [a.module]
    run("go", "get", "-tool", *[f"{p}@{a.version}" for p in pkgs])
    run("go", "mod", "tidy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
