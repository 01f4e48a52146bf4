# A stand-in, written by tests/docs.rs, for a program the docs run that the tests do not
# have (psql, gunicorn, kubectl, docker, an editor...). Never for `secrets`, git, sops or
# age. tests/docs.rs prepends `NAME = "..."` and `KIND = "..."` to this text.
#
# It appends one JSON line to $DOC_TEST_STUB_LOG: its name, its arguments (where an
# argument holds the value of a variable secrets provided, that value is replaced by
# `${NAME}`, see redact) and the NAMES of the variables secrets provided (those not in
# $DOC_TEST_BASE_ENV, the environment the harness gave the block). Never a value.
# Then it checks what its KIND says the docs promise, and exits 1 naming what is wrong:
#
#   env         at least one variable from secrets in its environment (`secrets exec`)
#   file-env    NAME_FILE variables (`exec --file-env`): each a 0600 file in a 0700
#               directory, and NAME itself not set; the directories are logged, and the
#               harness checks they are gone once the block has run
#   k8s-secret  `apply -f -` with a Kubernetes v1 Secret on stdin (every data value base64)
#   docker-run  `run`: every `-v SRC:DST` source exists, and a `-e NAME_FILE=DST/X` names a
#               file that exists as SRC/X
#   editor      edits the file it is given: a git commit message gets a subject line; a
#               YAML, JSON or dotenv file gets a key `doc_test_edit`

import base64
import json
import os
import stat
import sys


def provided_env():
    base = set(os.environ.get("DOC_TEST_BASE_ENV", "").split(":"))
    base |= {"PWD", "OLDPWD", "SHLVL", "_"}
    return {
        k: v
        for k, v in os.environ.items()
        if k not in base and not k.startswith("DOC_TEST_")
    }


def redact(arg, env):
    # A value of 6 characters or more is hidden wherever it occurs; a shorter one (`app`,
    # `true`, `5432`) only when it is the whole argument, so `apply` stays readable.
    for k, v in sorted(env.items(), key=lambda kv: -len(kv[1])):
        if v and (arg == v or (len(v) >= 6 and v in arg)):
            arg = arg.replace(v, "${" + k + "}")
    return arg


def check_env(args, env, rec, problems):
    if not env:
        problems.append("no variable from secrets in its environment")


def check_file_env(args, env, rec, problems):
    files = {k: v for k, v in env.items() if k.endswith("_FILE")}
    if not files:
        problems.append("no NAME_FILE variable in its environment")
    dirs = set()
    for k, path in sorted(files.items()):
        d = os.path.dirname(path)
        dirs.add(d)
        try:
            fmode = stat.S_IMODE(os.stat(path).st_mode)
            dmode = stat.S_IMODE(os.stat(d).st_mode)
        except OSError as e:
            problems.append(f"{k}: {e.strerror}")
            continue
        if fmode != 0o600:
            problems.append(f"{k}: the file's mode is {fmode:o}, not 600")
        if dmode != 0o700:
            problems.append(f"{k}: its directory's mode is {dmode:o}, not 700")
        if k[: -len("_FILE")] in env:
            problems.append(f"{k[:-5]} is set too, not only {k}")
    rec["dirs"] = sorted(dirs)


def check_k8s_secret(args, env, rec, problems):
    if args[:1] != ["apply"] or "-f" not in args or args[args.index("-f") + 1 :][:1] != ["-"]:
        problems.append("expected `apply -f -`")
    text = sys.stdin.read()
    top, section, data, name = {}, None, {}, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            k, _, v = line.partition(":")
            top[k] = v.strip()
            section = k
        elif section == "data":
            k, _, v = line.strip().partition(":")
            data[k] = v.strip().strip('"')
        elif section == "metadata" and line.strip().startswith("name:"):
            name = line.split(":", 1)[1].strip().strip('"')
    for k, want in (("apiVersion", "v1"), ("kind", "Secret")):
        if top.get(k, "").strip('"') != want:
            problems.append(f"stdin: {k} is {top.get(k)!r}, not {want}")
    if not data:
        problems.append("stdin: a Secret with no data")
    for k, v in data.items():
        try:
            base64.b64decode(v, validate=True)
        except Exception:
            problems.append(f"stdin: data.{k} is not base64")
    rec["stdin"] = f"Secret {name}: {len(data)} value(s)"


def check_docker_run(args, env, rec, problems):
    if args[:1] != ["run"]:
        problems.append("expected `docker run`")
        return
    mounts, envs, i = {}, [], 1
    while i < len(args):
        a = args[i]
        if a in ("-v", "--volume", "-e", "--env") and i + 1 < len(args):
            if a in ("-v", "--volume"):
                src, dst = args[i + 1].split(":")[:2]
                mounts[dst] = src
            else:
                envs.append(args[i + 1])
            i += 2
        elif a.startswith("-"):
            i += 1
        else:
            break
    if not mounts:
        problems.append("no -v SRC:DST")
    for dst, src in mounts.items():
        if not os.path.isdir(src):
            problems.append(f"-v {src}:{dst}: {src} is not a directory")
    for e in envs:
        name, _, value = e.partition("=")
        if not name.endswith("_FILE"):
            continue
        for dst, src in mounts.items():
            if value.startswith(dst.rstrip("/") + "/"):
                inside = os.path.join(src, value[len(dst.rstrip("/")) + 1 :])
                if not os.path.isfile(inside):
                    problems.append(f"-e {name}={value}: {inside} does not exist")
                break
        else:
            problems.append(f"-e {name}={value}: not in a mounted directory")


def check_editor(args, env, rec, problems):
    if not args:
        problems.append("no file to edit")
        return
    path = args[-1]
    base = os.path.basename(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if base.endswith("_EDITMSG"):
        text = "doc-test commit\n" + text
    elif base.endswith((".yaml", ".yml")):
        text += "doc_test_edit: true\n"
    elif base.endswith(".json"):
        doc = json.loads(text)
        doc["doc_test_edit"] = True
        text = json.dumps(doc, indent=4) + "\n"
    elif base.endswith(".env") or base.startswith(".env"):
        text += "doc_test_edit=true\n"
    else:
        problems.append(f"the doc-test editor cannot edit {base}")
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    rec["edited"] = base


CHECKS = {
    "env": check_env,
    "file-env": check_file_env,
    "k8s-secret": check_k8s_secret,
    "docker-run": check_docker_run,
    "editor": check_editor,
}


def main():
    env = provided_env()
    args = sys.argv[1:]
    rec = {"stub": NAME, "argv": [redact(a, env) for a in args], "env": sorted(env)}
    problems = []
    CHECKS[KIND](args, env, rec, problems)
    rec["problems"] = problems
    with open(os.environ["DOC_TEST_STUB_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(rec) + "\n")
    for p in problems:
        print(f"{NAME} (doc-test stub): {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


main()
