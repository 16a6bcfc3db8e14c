"""The packages as opkg sees them: their names and an .ipk opened the way opkg opens it."""

import gzip
import io
import os
import re
import subprocess
import tarfile

from netns import REPO

EPOCH = 1700000000  # the packages' one mtime in these tests
RELEASE = "1"


def agent_version():
    """The one place the version is written."""
    with open(os.path.join(REPO, "agent", "vpnpassthrough", "__init__.py")) as f:
        return re.search(r'^VERSION = "(.+)"$', f.read(), re.MULTILINE).group(1)


def ipk_name(package):
    return f"{package}_{agent_version()}-{RELEASE}_all.ipk"


class Ipk:
    """An .ipk opened the way opkg opens it: outer gzip'd tar, then the two inner tarballs."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.raw = f.read()
        self.outer_members, self.outer = read_tar(self.raw, "r:gz")
        self.data_tar = gzip.decompress(self.outer["./data.tar.gz"])
        self.data_members, self.data_files = read_tar(self.data_tar, "r:")
        self.control_members, self.control = read_tar(self.outer["./control.tar.gz"], "r:gz")

    def control_file(self, name):
        return self.control["./" + name].decode()

    def fields(self):
        """control as an ordered list of (field, value); continuation lines join with \\n."""
        fields = []
        for line in self.control_file("control").rstrip("\n").split("\n"):
            if line.startswith(" "):
                fields[-1] = (fields[-1][0], fields[-1][1] + "\n" + line)
            else:
                name, _, value = line.partition(": ")
                fields.append((name, value))
        return fields

    def files(self):
        """Installed path -> mode, for regular files."""
        return {m.name[1:]: m.mode for m in self.data_members if m.isfile()}

    def install_into(self, root):
        """data.tar unpacked by GNU tar, as root: modes as packed (opkg unpacks it the same)."""
        os.makedirs(root, exist_ok=True)
        subprocess.run(["tar", "-x", "-C", str(root)], input=self.data_tar, check=True)


def read_tar(blob, mode):
    """(members, {name: bytes} of its files)."""
    with tarfile.open(fileobj=io.BytesIO(blob), mode=mode) as archive:
        members = archive.getmembers()
        contents = {m.name: archive.extractfile(m).read() for m in members if m.isfile()}
    return members, contents
