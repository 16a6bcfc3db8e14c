"""Build the OpenWrt 25.12 packages on the host, without the SDK (`make apk`).

For every package that package/*/Makefile declares, stage it as a 25.12 build would
(stage.py runs the Makefiles' recipes with CONFIG_USE_APK=y), add what OpenWrt's
include/package-pack.mk adds for apk (lib/apk/packages/NAME.list, .conffiles and
.conffiles_static; the post-install, post-upgrade and pre-deinstall scripts around
default_postinst / default_prerm with the package's own appended, its postrm as
post-deinstall; versioned provides and the implicit virtual NAME-any), then pack the tree
as `apk mkpkg` of apk-tools 3.0.5 does (app_mkpkg.c): one ADB block of schema "pckg" and
one DATA block per non-empty file, deflated after the "ADBd" magic. Every file root:root
with one mtime (SOURCE_DATE_EPOCH, else the last commit's time), as fakeroot and
SOURCE_DATE_EPOCH give them there, so the same tree gives the same bytes. Unsigned: install
with `apk add --allow-untrusted`.
"""

import hashlib
import os
import re
import struct
import sys
import tempfile
import zlib

import adb
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

CONFIGURATION = {"CONFIG_USE_APK": "y"}
SCHEMA_PACKAGE = b"pckg"

# Field numbers of apk's schemas (apk_adb.h): package, package info, directory, file, ACL.
PKG_INFO, PKG_PATHS, PKG_SCRIPTS = 1, 2, 3
INFO_FIELDS = {"name": 1, "version": 2, "hashes": 3, "description": 4, "arch": 5,
               "license": 6, "origin": 7, "maintainer": 8, "url": 9, "installed-size": 12,
               "depends": 15, "provides": 16}
SCRIPT_FIELDS = {"trigger": 1, "pre-install": 2, "post-install": 3, "pre-deinstall": 4,
                 "post-deinstall": 5, "pre-upgrade": 6, "post-upgrade": 7}
DEPENDENCY = re.compile(r"([A-Za-z0-9][A-Za-z0-9+._-]*)(?:=(\S+))?$")
# apk's version grammar, the part OpenWrt's versions use: 1.0.0-r1 (1.0.0-1 is refused).
VERSION = re.compile(r"\d+(\.\d+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*(-r\d+)?$")

POST_INSTALL = """#!/bin/sh
[ "${{IPKG_NO_SCRIPT}}" = "1" ] && exit 0
[ -s ${{IPKG_INSTROOT}}/lib/functions.sh ] || exit 0
. ${{IPKG_INSTROOT}}/lib/functions.sh
export root="${{IPKG_INSTROOT}}"
export pkgname="{name}"
add_group_and_user
default_postinst
"""
PRE_DEINSTALL = """#!/bin/sh
[ -s ${{IPKG_INSTROOT}}/lib/functions.sh ] || exit 0
. ${{IPKG_INSTROOT}}/lib/functions.sh
export root="${{IPKG_INSTROOT}}"
export pkgname="{name}"
default_prerm
"""
UPGRADE = "#!/bin/sh\nexport PKG_UPGRADE=1\n"
SHEBANG = re.compile(r"^\s*#!.*\n?", re.MULTILINE)


def version_of(feed):
    return feed.expand("$(PKG_VERSION)-r$(PKG_RELEASE)")


def own_script(feed, name, script):
    """Package/NAME/SCRIPT as package-pack.mk writes it to a file: the define and a newline."""
    text = feed.text(f"Package/{name}/{script}")
    return None if text is None else text + "\n"


def scripts(feed, name):
    """{apk script field: text}, put together as 25.12's package-pack.mk does: the package's
    own postinst and prerm appended without their #! lines, upgrades with PKG_UPGRADE=1."""
    post_install = POST_INSTALL.format(name=name)
    pre_deinstall = PRE_DEINSTALL.format(name=name)
    postinst, prerm = own_script(feed, name, "postinst"), own_script(feed, name, "prerm")
    post_install += SHEBANG.sub("", postinst) if postinst else ""
    pre_deinstall += SHEBANG.sub("", prerm) if prerm else ""
    found = {"post-install": post_install, "post-upgrade": UPGRADE + SHEBANG.sub("", post_install),
             "pre-deinstall": pre_deinstall}
    postrm = own_script(feed, name, "postrm")
    if postrm is not None:
        found["post-deinstall"] = re.sub(r"^\s*#!", "#!", postrm)
    return found


def provides(feed, name, version):
    """25.12's FormatProvides: PROVIDES with the version (they own the name), and the implicit
    virtual NAME-any every package gets, without one."""
    names = feed.package(name).get("PROVIDES", "").split() + ["@" + name + "-any"]
    return [p[1:] if p.startswith("@") else f"{p}={version}" for p in names if p != name]


def info(feed, name, version):
    """The --info fields package-pack.mk passes to apk mkpkg, as {field: text}."""
    fields = feed.package(name)
    if fields.get("PKGARCH") != "all":
        raise BuildError(f"{feed.path}: {name} must be PKGARCH:=all to build on the host")
    description = feed.text(f"Package/{name}/description") or fields["TITLE"]
    return {"name": name, "version": version, "description": " ".join(description.split()),
            "arch": "noarch", "license": feed.expand("$(PKG_LICENSE)"),
            "origin": os.path.relpath(feed.folder, REPO), "url": fields["URL"],
            "maintainer": feed.expand("$(PKG_MAINTAINER)"),
            "provides": " ".join(provides(feed, name, version)),
            "depends": " ".join(feed.depends(name))}


def add_metadata(feed, name, idir):
    """lib/apk/packages/NAME.list (every file, sorted), .conffiles and .conffiles_static
    (each conffile and its sha256), written into the staged root as package-pack.mk does."""
    folder = os.path.join(idir, "lib", "apk", "packages")
    os.makedirs(folder, exist_ok=True)
    for level in ("lib", "lib/apk", "lib/apk/packages"):
        os.chmod(os.path.join(idir, level), 0o755)
    files = sorted(member[1:].encode() for member, _mode, data in tree_members(idir)
                   if data is not None)
    written = {name + ".list": b"".join(path + b"\n" for path in files)}
    listed = own_script(feed, name, "conffiles")
    if listed is not None:
        written[name + ".conffiles"] = listed.encode()
        static = []
        for path in listed.split():
            if not os.path.isfile(idir + path):
                raise BuildError(f"{feed.path}: conffile {path} is not installed by {name}")
            with open(idir + path, "rb") as f:
                static.append(f"{path} {hashlib.sha256(f.read()).hexdigest()}\n")
        written[name + ".conffiles_static"] = "".join(static).encode()
    for file, data in written.items():
        path = os.path.join(folder, file)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o644)


def dependencies(writer, text):
    """A dependency list (`name` or `name=version`, space separated), sorted by name."""
    found = {}
    for word in text.split():
        match = DEPENDENCY.match(word)
        if not match or (match.group(2) and not VERSION.match(match.group(2))):
            raise BuildError(f"dependency {word!r}: not of the form name or name=version")
        name, version = match.groups()
        value = writer.object([writer.blob(name.encode()),
                               writer.blob(version.encode()) if version else adb.NULL])
        if found.setdefault(name.encode(), value) != value:
            raise BuildError(f"dependency {name!r} given twice")
    return writer.object([found[key] for key in sorted(found)])


def write_info(writer, fields):
    """The info fields in field order, as mkpkg writes them; returns their slots."""
    slots = [adb.NULL] * (max(INFO_FIELDS.values()))
    for field, number in sorted(INFO_FIELDS.items(), key=lambda item: item[1]):
        text = fields.get(field)
        if field in ("depends", "provides") and text is not None:
            slots[number - 1] = dependencies(writer, text)
        elif text is not None:
            slots[number - 1] = writer.blob(text.encode())
    return slots


def directories(root):
    """Every folder under root, relative, sorted as strcmp sorts them (apk's order)."""
    found = []
    for folder, subfolders, _files in os.walk(root):
        subfolders.sort()
        found += [os.path.relpath(os.path.join(folder, d), root).encode() for d in subfolders]
    return sorted(found)


def write_tree(writer, root, mtime):
    """Each folder's value in apk's order (the paths array itself is written by the caller,
    after the info, as mkpkg does), (folder index, file index, bytes) of each file with
    content, and the installed size: the files' bytes."""
    members = {name[2:].encode(): (mode, data) for name, mode, data in tree_members(root)}
    dirs, installed = [], 0
    for folder in [b""] + directories(root):
        files = []
        prefix = folder + b"/" if folder else b""
        entries = sorted(path[len(prefix):] for path in members
                         if path.startswith(prefix) and path != folder
                         and b"/" not in path[len(prefix):])
        for entry in entries:
            mode, data = members[prefix + entry]
            if data is None:
                continue  # a folder: it comes in its own turn
            name = writer.blob(entry)
            digest = writer.blob(hashlib.sha256(data).digest())
            time, size = writer.int(mtime), writer.int(len(data))
            acl = writer.object([writer.int(mode), writer.blob(b"root"), writer.blob(b"root")])
            files.append((entry, writer.object([name, acl, size, time, digest]), data))
            installed += len(data)
        files.sort(key=lambda file: file[0])
        name = writer.blob(folder)
        acl = writer.object([writer.int(members[folder][0]), writer.blob(b"root"),
                             writer.blob(b"root")])
        value = writer.object([name, acl, writer.object([value for _e, value, _d in files])])
        dirs.append((folder, value, [data for _e, _v, data in files]))
    dirs.sort(key=lambda d: d[0])
    contents = [(i, j, data) for i, (_f, _v, datas) in enumerate(dirs, 1)
                for j, data in enumerate(datas, 1) if data]
    return [value for _f, value, _d in dirs], contents, max(installed, 1)


def pack(fields, package_scripts, root, mtime):
    """The .apk of a staged root: fields as mkpkg's --info, scripts as its --script."""
    if not VERSION.match(fields["version"]):
        raise BuildError(f"{fields['version']!r} is not an apk version (like 1.0.0-r1)")
    writer = adb.Writer()
    info_slots = write_info(writer, fields)
    dirs, contents, installed = write_tree(writer, root, mtime)
    info_slots[INFO_FIELDS["installed-size"] - 1] = writer.int(installed)
    uid = writer.blob(bytes(20), share=False)  # the package's unique id, filled in below
    info_slots[INFO_FIELDS["hashes"] - 1] = uid
    slots = {PKG_INFO: writer.object(info_slots), PKG_PATHS: writer.object(dirs)}
    script_slots = [adb.NULL] * len(SCRIPT_FIELDS)
    for field, number in sorted(SCRIPT_FIELDS.items(), key=lambda item: item[1]):
        if field in package_scripts:
            script_slots[number - 1] = writer.blob(package_scripts[field].encode())
    slots[PKG_SCRIPTS] = writer.object(script_slots)
    writer.set_root(writer.object([slots[n] for n in sorted(slots)]))
    at = writer.blob_offset(uid)
    writer.buffer[at:at + 20] = hashlib.sha256(writer.buffer).digest()[:20]
    stream = b"ADB." + SCHEMA_PACKAGE + adb.block(adb.BLOCK_ADB, bytes(writer.buffer))
    for i, j, data in contents:
        stream += adb.block(adb.BLOCK_DATA, struct.pack("<II", i, j) + data)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    return b"ADBd" + deflate.compress(stream) + deflate.flush()


def package(feed, name, idir, out, mtime):
    """Write NAME-VERSION.apk from the staged root idir; returns its path."""
    version = version_of(feed)
    add_metadata(feed, name, idir)
    data = pack(info(feed, name, version), scripts(feed, name), idir, mtime)
    return write_package(out, name, f"{name}-{version}.apk", "-[0-9]*.apk", data)


def build_all(out, mtime=None, command_line=None, keep=None):
    """Every package of package/*/Makefile into out; returns the .apk paths. command_line:
    make variables to override; keep: a folder to leave the staged roots in (tests)."""
    mtime = source_date_epoch() if mtime is None else mtime
    os.makedirs(out, exist_ok=True)
    built = []
    with tempfile.TemporaryDirectory(prefix="vpnpassthrough-apk.") as scratch:
        for folder in feed_folders():
            feed, roots = stage(folder, keep or scratch, dict(CONFIGURATION,
                                                              **(command_line or {})))
            built += [package(feed, name, idir, out, mtime) for name, idir in roots]
    return built



if __name__ == "__main__":
    sys.exit(main(build_all, "apk"))
