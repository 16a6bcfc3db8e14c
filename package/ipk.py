"""Build the OpenWrt packages on the host, without the SDK (`make ipk`).

For every package that package/*/Makefile declares, stage it as OpenWrt's build would
(stage.py runs the Makefiles' recipes, for a 24.10 build), then pack the tree the way OpenWrt's
scripts/ipkg-build does: a gzip'd tar of ./debian-binary, ./data.tar.gz and ./control.tar.gz,
in that order; GNU tar format, numeric owner root:root, members sorted by name, one mtime
(SOURCE_DATE_EPOCH, else the time of the last commit) and gzip without name or time, so the
same tree always gives the same bytes. Installed-Size is the length of the uncompressed
data.tar, as ipkg-build computes it. postinst and prerm are the ones OpenWrt generates: they
call default_postinst / default_prerm from the router's /lib/functions.sh (uci-defaults,
enable and start or stop and disable the init script, nothing live when IPKG_INSTROOT is set),
and those run the package's own postinst and prerm, shipped as postinst-pkg and prerm-pkg;
its postrm is shipped as is.
"""

import gzip
import io
import os
import sys
import tarfile
import tempfile

from stage import (
    REPO,
    BuildError,
    feed_folders,
    main,
    source_date_epoch,
    stage,
    tree_members,
    write_package,
)

# ipk.py builds for OpenWrt 24.10 and earlier, whose configuration has no CONFIG_USE_APK.
CONFIGURATION = {"CONFIG_USE_APK": ""}
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
# The package's own scripts, as package-pack.mk names them in control.tar.gz.
OWN_SCRIPTS = (("postinst", "postinst-pkg"), ("prerm", "prerm-pkg"), ("postrm", "postrm"))


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


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def description(feed, name, fields):
    """As package-pack.mk writes it: every line's leading blanks become one space."""
    text = feed.text(f"Package/{name}/description") or fields["TITLE"]
    lines = [" " + line.lstrip() for line in text.split("\n")]
    return "Description: " + "\n".join(lines) + "\n"


def control(feed, name, version, installed_size, mtime):
    """The control file in package-pack.mk's order of fields (the ones our packages have)."""
    fields = feed.package(name)
    if fields.get("PKGARCH") != "all":
        raise BuildError(f"{feed.path}: {name} must be PKGARCH:=all to build on the host")
    lines = ["Package: " + name, "Version: " + version,
             "Depends: " + ", ".join(feed.depends(name))]
    for key, field in (("CONFLICTS", "Conflicts"), ("PROVIDES", "Provides")):
        if fields.get(key):
            lines.append(f"{field}: {', '.join(fields[key].split())}")
    lines += ["Source: " + os.path.relpath(feed.folder, REPO),
              "SourceName: " + feed.name,
              "License: " + feed.expand("$(PKG_LICENSE)"),
              "LicenseFiles: " + feed.expand("$(PKG_LICENSE_FILES)"),
              "Section: " + fields["SECTION"],
              f"SourceDateEpoch: {mtime}",
              "URL: " + fields["URL"],
              "Maintainer: " + feed.expand("$(PKG_MAINTAINER)"),
              "Architecture: all",
              f"Installed-Size: {installed_size}"]
    return "\n".join(lines) + "\n" + description(feed, name, fields)


def conffiles(feed, name, idir):
    """The declared conffiles as package-pack.mk writes them (the define and a newline), or
    None; each must be a file the package installs."""
    listed = feed.text(f"Package/{name}/conffiles")
    if listed is None:
        return None
    for path in listed.split():
        if not os.path.isfile(idir + path):
            raise BuildError(f"{feed.path}: conffile {path} is not installed by {name}")
    return listed + "\n"


def control_members(feed, name, version, idir, installed_size, mtime):
    members = [(".", 0o755, None)]
    files = {"control": (0o644, control(feed, name, version, installed_size, mtime)),
             "postinst": (0o755, POSTINST), "prerm": (0o755, PRERM)}
    listed = conffiles(feed, name, idir)
    if listed:
        files["conffiles"] = (0o644, listed)
    for script, member in OWN_SCRIPTS:
        own = feed.text(f"Package/{name}/{script}")
        if own is not None:
            files[member] = (0o755, own + "\n")
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
    members = control_members(feed, name, version, idir, len(data), mtime)
    parts = [("./debian-binary", b"2.0\n"), ("./data.tar.gz", gz(data)),
             ("./control.tar.gz", gz(tar(members, mtime)))]
    ipk = gz(tar([(member, 0o644, blob) for member, blob in parts], mtime))
    return write_package(out, name, f"{name}_{version}_all.ipk", "_*.ipk", ipk)


def build_all(out, mtime=None, command_line=None):
    """Every package of package/*/Makefile into out; returns the .ipk paths. command_line:
    make variables to override (PKG_RELEASE=2 builds an upgrade)."""
    mtime = source_date_epoch() if mtime is None else mtime
    os.makedirs(out, exist_ok=True)
    built = []
    with tempfile.TemporaryDirectory(prefix="vpnpassthrough-ipk.") as scratch:
        for folder in feed_folders():
            feed, roots = stage(folder, scratch, dict(CONFIGURATION, **(command_line or {})))
            built += [package(feed, name, idir, out, mtime) for name, idir in roots]
    return built



if __name__ == "__main__":
    sys.exit(main(build_all, "ipk"))
