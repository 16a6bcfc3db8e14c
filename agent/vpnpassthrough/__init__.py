"""vpnpassthrough: VPN passthrough switches (IPsec, PPTP, L2TP) for OpenWrt routers."""

VERSION = "1.0.0"
