"""Build the OpenWrt packages on the host, without the SDK (`make ipk`).

For every package that package/*/Makefile declares, run its Build/Prepare and install recipes
as OpenWrt's build would (feed.py reads them), then pack the installed tree the way OpenWrt's
scripts/ipkg-build does: a gzip'd tar of ./debian-binary, ./data.tar.gz and ./control.tar.gz,
in that order; GNU tar format, numeric owner root:root, members sorted by name, one mtime
(SOURCE_DATE_EPOCH, else the time of the last commit) and gzip without name or time, so the
same tree always gives the same bytes. Installed-Size is the length of the uncompressed
data.tar, as ipkg-build computes it. postinst and prerm are the ones OpenWrt generates: they
call default_postinst / default_prerm from the router's /lib/functions.sh (uci-defaults,
enable and start or stop and disable the init script, nothing live when IPKG_INSTROOT is set),
and those run the package's own postinst, shipped as postinst-pkg.
"""

import argparse
import glob
import gzip
import io
import os
import subprocess
import sys
import tarfile
import tempfile

from feed import Feed, FeedError, filter_depends

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

POSTINST = """#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
"""
PRERM = """#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
"""


class BuildError(Exception):
    def __init__(self, message):
        super().__init__(message)


def source_date_epoch():
    if os.getenv("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    done = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=REPO, capture_output=True,
                          text=True, check=False)
    return int(done.stdout) if done.returncode == 0 and done.stdout.strip() else 0


def run_recipe(feed, name, lines):
    """Each line in its own shell, in the package folder, with OpenWrt's required umask."""
    for line in lines:
        done = subprocess.run(["sh", "-c", "umask 022; " + line], cwd=feed.folder,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BuildError(f"{name} of {feed.path}: `{line}` failed: {done.stderr.strip()}")


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


def tar(members, mtime):
    """A GNU tar of (name, mode, bytes or None for a directory), owned by 0:0 without names."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, mode, data in members:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime, info.uid, info.gid = mode, mtime, 0, 0
            info.uname = info.gname = ""
            if data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def tree_members(root):
    members = []
    for name, path in tree(root):
        status = os.lstat(path)
        mode = status.st_mode & 0o7777
        if os.path.isdir(path):
            members.append((name, mode, None))
        elif os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as f:
                members.append((name, mode, f.read()))
        else:
            raise BuildError(f"{path}: only files and folders can be packaged")
    return members


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def description(feed, name, fields):
    """As package-pack.mk writes it: every line's leading blanks become one space."""
    text = feed.text(f"Package/{name}/description") or fields["TITLE"]
    lines = [" " + line.lstrip() for line in text.split("\n")]
    return "Description: " + "\n".join(lines) + "\n"


def control(feed, name, version, installed_size):
    fields = feed.package(name)
    if fields.get("PKGARCH") != "all":
        raise BuildError(f"{feed.path}: {name} must be PKGARCH:=all to build on the host")
    lines = ["Package: " + name, "Version: " + version,
             "Depends: " + ", ".join(filter_depends(fields.get("DEPENDS", "")))]
    for key, field in (("CONFLICTS", "Conflicts"), ("PROVIDES", "Provides")):
        if fields.get(key):
            lines.append(f"{field}: {', '.join(fields[key].split())}")
    lines += ["Source: " + os.path.relpath(feed.folder, REPO),
              "SourceName: " + feed.name,
              "License: " + feed.expand("$(PKG_LICENSE)"),
              "Section: " + fields["SECTION"],
              "Architecture: all",
              f"Installed-Size: {installed_size}"]
    return "\n".join(lines) + "\n" + description(feed, name, fields)


def conffiles(feed, name, idir):
    """The declared conffiles; each must be a file the package installs."""
    listed = (feed.text(f"Package/{name}/conffiles") or "").split()
    for path in listed:
        if not os.path.isfile(idir + path):
            raise BuildError(f"{feed.path}: conffile {path} is not installed by {name}")
    return "".join(path + "\n" for path in sorted(listed))


def control_members(feed, name, version, idir, installed_size):
    members = [(".", 0o755, None)]
    files = {"control": (0o644, control(feed, name, version, installed_size)),
             "postinst": (0o755, POSTINST), "prerm": (0o755, PRERM)}
    listed = conffiles(feed, name, idir)
    if listed:
        files["conffiles"] = (0o644, listed)
    for script in ("postinst", "prerm"):
        own = feed.text(f"Package/{name}/{script}")
        if own is not None:
            files[script + "-pkg"] = (0o755, own + "\n")
    for member in sorted(files):
        mode, text = files[member]
        members.append(("./" + member, mode, text.encode()))
    return members


def version_of(feed):
    return feed.expand("$(PKG_VERSION)-$(PKG_RELEASE)")


def package(feed, name, idir, out, mtime):
    """Write NAME_VERSION_all.ipk from the installed tree idir; returns its path."""
    version = version_of(feed)
    data = tar(tree_members(idir), mtime)
    members = control_members(feed, name, version, idir, len(data))
    parts = [("./debian-binary", b"2.0\n"), ("./data.tar.gz", gz(data)),
             ("./control.tar.gz", gz(tar(members, mtime)))]
    ipk = gz(tar([(member, 0o644, blob) for member, blob in parts], mtime))
    for stale in glob.glob(os.path.join(out, glob.escape(name) + "_*.ipk")):
        os.remove(stale)
    path = os.path.join(out, f"{name}_{version}_all.ipk")
    with open(path, "wb") as f:
        f.write(ipk)
    return path


def build_feed(folder, out, scratch, mtime):
    """Prepare the feed package once, then install and pack each package it declares."""
    build_dir = os.path.join(scratch, "build", os.path.basename(folder))
    feed = Feed(folder, build_dir)
    run_recipe(feed, "Build/Prepare", feed.recipe("Build/Prepare"))
    built = []
    for name in feed.packages:
        idir = os.path.join(scratch, "ipkg-all", name)
        os.makedirs(idir)
        os.chmod(idir, 0o755)  # the root's own entry, "./", whatever the caller's umask
        run_recipe(feed, f"Package/{name}/install",
                   feed.recipe(f"Package/{name}/install", idir))
        built.append(package(feed, name, idir, out, mtime))
    return built


def build_all(out, mtime=None):
    """Every package of package/*/Makefile into out; returns the .ipk paths."""
    mtime = source_date_epoch() if mtime is None else mtime
    os.makedirs(out, exist_ok=True)
    built = []
    with tempfile.TemporaryDirectory(prefix="vpnpassthrough-ipk.") as scratch:
        for makefile in sorted(glob.glob(os.path.join(HERE, "*", "Makefile"))):
            built += build_feed(os.path.dirname(makefile), out, scratch, mtime)
    return built


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the .ipk files without the SDK.")
    parser.add_argument("--out", default=os.path.join(REPO, "build"))
    args = parser.parse_args(argv)
    try:
        built = build_all(args.out)
    except (BuildError, FeedError) as e:
        sys.stderr.write(f"ipk: {e}\n")
        return 1
    for path in built:
        print(f"{path}  {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
