#!/usr/bin/env python3
"""Generates a git repository of realistic Rails shape for the sync benchmark.

    gen_repo.py DIR [--files N] [--commits N] [--seed N]

About 5,000 Ruby/ERB/YAML files (app/, lib/, spec/, config/, db/) of 1-16 KB of varied text,
40 binary assets of 100-900 KB (incompressible, like images), and a history of small commits
touching a few dozen files each. Working tree ~60 MB; takes well under a minute.
"""
import argparse
import os
import random
import subprocess

WORDS = ("user post comment account invoice payment order item product cart session token "
         "validate belongs_to has_many scope where includes render redirect params permit "
         "expect describe context let before after subject eq be_valid create build find "
         "update destroy save errors present blank nil true false self def end class module "
         "if else elsif unless return yield block lambda proc map select reject each with_index").split()


def ruby_text(rng, size):
    lines = []
    total = 0
    depth = 0
    while total < size:
        r = rng.random()
        if r < 0.1 and depth < 4:
            line = "  " * depth + rng.choice(["def ", "class ", "module ", "describe '", "context '"]) + \
                "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
            depth += 1
        elif r < 0.2 and depth > 0:
            depth -= 1
            line = "  " * depth + "end"
        else:
            line = "  " * depth + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
            if rng.random() < 0.3:
                line += " # %08x" % rng.getrandbits(32)
        lines.append(line)
        total += len(line) + 1
    lines.extend("  " * d + "end" for d in range(depth - 1, -1, -1))
    return "\n".join(lines) + "\n"


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com",
                    "-c", "commit.gpgsign=false", *args], cwd=repo, check=True,
                   stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--commits", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    git(a.dir, "init", "-q", "-b", "main", ".")

    dirs = ["app/models", "app/controllers", "app/views/%s", "app/services", "app/jobs",
            "lib/tasks", "lib/%s", "spec/models", "spec/requests", "spec/services",
            "spec/support", "config/locales", "db/migrate"]
    paths = []
    for i in range(a.files):
        d = rng.choice(dirs)
        if "%s" in d:
            d = d % rng.choice(WORDS)
        ext = ".yml" if d.startswith("config") else ".html.erb" if "views" in d else ".rb"
        if d.startswith("spec/") and ext == ".rb":
            ext = "_spec.rb"
        paths.append(os.path.join(d, "%s_%d%s" % (rng.choice(WORDS), i, ext)))
    for p in paths:
        full = os.path.join(a.dir, p)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(ruby_text(rng, int(rng.lognormvariate(8.3, 0.7)) % 16000 + 1000))
    os.makedirs(os.path.join(a.dir, "app/assets/images"), exist_ok=True)
    for i in range(40):
        with open(os.path.join(a.dir, "app/assets/images/photo_%d.jpg" % i), "wb") as f:
            f.write(rng.randbytes(rng.randint(100_000, 900_000)))
    with open(os.path.join(a.dir, ".gitignore"), "w") as f:
        f.write("/tmp/\n/log/\n/coverage/\n")
    with open(os.path.join(a.dir, "Gemfile.lock"), "w") as f:
        f.write("GEM\n  specs:\n    rspec (3.12.0)\n")
    git(a.dir, "add", "-A")
    git(a.dir, "commit", "-q", "-m", "initial import")

    for c in range(a.commits):
        for p in rng.sample(paths, 30):
            with open(os.path.join(a.dir, p), "a") as f:
                f.write(ruby_text(rng, 400))
        git(a.dir, "commit", "-q", "-am", "change %d" % c)


if __name__ == "__main__":
    main()
