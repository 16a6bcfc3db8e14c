"""The PPTP helper modules: which ones this kernel needs, their state, loading and unloading.

States: loaded (in /proc/modules), builtin (compiled in: /sys/module/NAME without a
/proc/modules entry, listed in modules.builtin, or a kernel without module support),
available (a .ko under /lib/modules/RELEASE), missing. `root` stands for "/" so that tests can
point it at a directory. OpenWrt's modprobe (kmodloader) has no -r, so unloading is rmmod,
one module at a time, nf_nat_pptp first.
"""

from collections import OrderedDict

from . import files, system
from .protocols import PPTP_MODULE_PACKAGES, PPTP_MODULES, PPTP_MODULES_BEFORE_5_1


def kernel_release(root="/"):
    return (files.read(root + "proc/sys/kernel/osrelease") or "").strip()


def module_names(release):
    """Kernels before 5.1 track GRE in separate modules."""
    numbers = []
    for part in release.split("-")[0].split(".")[:2]:
        numbers.append(int(part) if part.isdigit() else 0)
    while len(numbers) < 2:
        numbers.append(0)
    return PPTP_MODULES if (numbers[0], numbers[1]) >= (5, 1) else PPTP_MODULES_BEFORE_5_1


def _module_files(root, release):
    """Module names present as .ko files: OpenWrt's flat layout, or modules.dep elsewhere."""
    folder = "{}lib/modules/{}/".format(root, release)
    names = set()
    for listing in ("modules.dep", "modules.builtin"):
        for line in (files.read(folder + listing) or "").split("\n"):
            path = line.partition(":")[0]
            if path.endswith(".ko") or ".ko." in path:
                names.add((listing, path.rpartition("/")[2].partition(".ko")[0]))
    return folder, names


def observe(root="/"):
    """OrderedDict module -> state, in load order."""
    release = kernel_release(root)
    proc = files.read(root + "proc/modules")
    loaded = set(line.split(" ")[0] for line in (proc or "").split("\n") if line)
    folder, listed = _module_files(root, release)
    states = OrderedDict()
    for name in module_names(release):
        dashed = name.replace("_", "-")
        if name in loaded:
            state = "loaded"
        elif (proc is None or ("modules.builtin", name) in listed or
              ("modules.builtin", dashed) in listed or
              files.exists("{}sys/module/{}".format(root, name))):
            state = "builtin"
        elif files.exists("{}{}.ko".format(folder, name)) or ("modules.dep", name) in listed:
            state = "available"
        else:
            state = "missing"
        states[name] = state
    return states


def package(root="/"):
    """The package to install for missing modules, by this system's package manager."""
    return PPTP_MODULE_PACKAGES["apk" if files.exists(root + "lib/apk/db") else "opkg"]


def load(name):
    """modprobe; returns None or an error message."""
    status, _out, err = system.run(["modprobe", name])
    if status != 0:
        return "modprobe {} failed: {}".format(name, err.strip() or "status {}".format(status))
    return None


def unload(name):
    """rmmod; returns None or an error message (the module is then reported busy)."""
    status, _out, err = system.run(["rmmod", name])
    if status != 0:
        return "rmmod {} failed: {}".format(name, err.strip() or "status {}".format(status))
    return None


def problems(cfg, modules, package):
    """What missing helper modules mean for PPTP, when it is on."""
    if not (cfg["enabled"] and cfg["pptp"]):
        return []
    missing = [name for name, state in modules.items() if state == "missing"]
    if not missing:
        return []
    message = ("PPTP helper module {} missing (install {}): PPTP control connections pass, "
               "but the server's GRE is dropped on its way back, so no PPTP call "
               "works".format(", ".join(missing), package))
    return [{"message": message, "protocol": "pptp"}]
