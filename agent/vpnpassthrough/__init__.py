"""vpnpassthrough: VPN passthrough switches (IPsec, PPTP, L2TP) for OpenWrt routers."""

import sys

VERSION = "1.0.0"

if sys.implementation.name == "micropython":
    # MicroPython collects only when its heap is full, so before the first collection every
    # page of the launcher's 4 MiB heap becomes resident: the daemon crept from 3.4 to 5.9
    # MiB RSS in four applies, status with 10,000 flows peaked at 6.7 MiB, a cut of 1,000
    # flows at 6.3 MiB. Collecting after each 256 KiB allocated keeps what is resident near
    # what is live. Set here, so that every entry point (CLI, rpcd, daemon) runs with it.
    import gc

    if hasattr(gc, "threshold"):
        gc.threshold(256 * 1024)
