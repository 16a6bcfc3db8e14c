"""What a router's uhttpd, LuCI dispatcher and rpcd give the VPN passthrough page, for a browser
test: the page as LuCI's view.ut and the bootstrap theme's header and footer make it, LuCI's
own static files (from the luci-24.10 tarball, unpacked into a temporary directory), the
view from files/www, `/ubus` (JSON-RPC list and call), the menu, and uci apply / confirm.

The ubus objects: `uci` over committed files in a config directory (rpcd_uci.UciStore), the
session's access checks (all granted), `vpnpassthrough status` answering with the reply a test
gives (a recorded one), and a few of LuCI's own calls answered as an empty router does.
Anything else is rpcd's "Object not found". A config listed in `denied` answers ubus code 6
(permission denied), as for a user whose ACL does not grant it.

Runs in threads of the test process (ThreadingHTTPServer on 127.0.0.1, a port the kernel
picks); close() releases a call held with HANG and stops the server.
"""

import glob
import html
import http.server
import json
import os
import tarfile
import threading
import urllib.parse

from rpcd_uci import UciError, UciStore

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TARBALL = os.path.join(os.environ.get("ROUTER_TOOLS", "/var/cache/openwrt-userspace/tools"),
                       "luci-24.10.tar.xz")
BASE = "luci-24.10/modules/luci-base"
THEME = "luci-24.10/themes/luci-theme-bootstrap"
PAGE_PATH = "/cgi-bin/luci/admin/services/vpnpassthrough"
HANG = object()  # a status call that never answers
NOT_INSTALLED = object()  # no vpnpassthrough object: rpcd's "Object not found"
PERMISSION_DENIED = 6

# Where the router's /www files come from: the view from this checkout, the rest from LuCI.
STATIC = [
    ("/luci-static/resources/view/vpnpassthrough.js",
     os.path.join(REPO, "files/www/luci-static/resources/view/vpnpassthrough.js")),
    ("/luci-static/resources/menu-bootstrap.js",
     THEME + "/htdocs/luci-static/resources/menu-bootstrap.js"),
    ("/luci-static/resources/", BASE + "/htdocs/luci-static/resources/"),
    ("/luci-static/bootstrap/", THEME + "/htdocs/luci-static/bootstrap/"),
    ("/tests/", os.path.join(REPO, "tests/luci/")),
]
TYPES = {".js": "application/javascript", ".css": "text/css", ".svg": "image/svg+xml",
         ".png": "image/png", ".gif": "image/gif", ".json": "application/json"}

# themes/bootstrap/header.ut + header.ut + view.ut + footer.ut, for one view.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>router - VPN Passthrough - LuCI</title>
<script>
var mediaQuery = window.matchMedia('(prefers-color-scheme: dark)'),
    rootElement = document.querySelector(':root'),
    setDarkMode = function(match) {{ rootElement.setAttribute('data-darkmode', match.matches) }};
mediaQuery.addEventListener('change', setDarkMode);
setDarkMode(mediaQuery);
</script>
<meta name="viewport" content="initial-scale=1.0">
<link rel="stylesheet" href="/luci-static/bootstrap/cascade.css">
<link rel="stylesheet" media="only screen and (max-device-width: 854px)"
      href="/luci-static/bootstrap/mobile.css" />
<script src="/cgi-bin/luci/admin/translations/en"></script>
<script src="/luci-static/resources/cbi.js"></script>
</head>
<body class="lang_en VPN Passthrough" data-page="admin-services-vpnpassthrough">
<header>
<a class="brand" href="/">router</a>
<ul class="nav" id="topmenu" style="display:none"></ul>
<div id="indicators" class="pull-right"></div>
</header>
<div id="maincontent" class="container">
<div id="tabmenu" style="display:none"></div>
<script src="/luci-static/resources/promis.min.js"></script>
<script src="/luci-static/resources/luci.js"></script>
<script>
L = new LuCI({env});
</script>
{body}
</div>
<footer><span>Powered by LuCI (test server)</span>
<ul class="breadcrumb pull-right" id="modemenu" style="display:none"></ul></footer>
<script>L.require('menu-bootstrap')</script>
</body>
</html>
"""
VIEW = """<div id="view">
<div class="spinning">Loading view…</div>
<script>
L.require('ui').then(function(ui) {
	ui.instantiateView('vpnpassthrough');
});
</script>
</div>"""


def available():
    """None when the browser tests can run, else the one line saying what is missing."""
    from cdp import CHROMIUM
    if not os.path.exists(TARBALL):
        return "LuCI 24.10's runtime files are not here ({} missing; set ROUTER_TOOLS)".format(
            TARBALL)
    if not os.path.exists(CHROMIUM):
        return "Chromium is not installed ({} missing)".format(CHROMIUM)
    return None


def unpack(into):
    with tarfile.open(TARBALL) as tar:
        tar.extractall(into, filter="data")


def menu(runtime):
    """admin/menu: the tree LuCI's dispatcher builds from menu.d, every node satisfied."""
    entries = {}
    for path in [os.path.join(runtime, BASE, "root/usr/share/luci/menu.d/luci-base.json")] + \
            glob.glob(os.path.join(REPO, "files/usr/share/luci/menu.d/*.json")):
        with open(path) as f:
            entries.update(json.load(f))
    tree = {"satisfied": True, "children": {}}
    for path in sorted(entries):
        if "*" in path:
            continue
        node = tree
        for part in path.split("/"):
            node = node["children"].setdefault(part, {"satisfied": True, "children": {}})
        node.update({key: value for key, value in entries[path].items() if key != "depends"})
    return tree


class Router:
    """The server and what it answers; tests set `status` and read `calls` and the files."""

    def __init__(self, runtime, config_dir):
        self.runtime = runtime
        self.store = UciStore(config_dir)
        self.status = None
        self.denied = set()
        self.calls = []
        self.confirmed = threading.Event()
        self.release = threading.Event()
        self.menu = menu(runtime)
        router = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                router.get(self)

            def do_POST(self):
                router.post(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:{}".format(self.httpd.server_address[1])

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def reset(self, status):
        self.status = status
        self.calls.clear()
        self.confirmed.clear()
        self.store.revert()

    # HTTP

    def page(self, body=VIEW):
        env = {"media": "/luci-static/bootstrap", "resource": "/luci-static/resources",
               "scriptname": "/cgi-bin/luci", "pathinfo": "/admin/services/vpnpassthrough",
               "documentroot": "/www", "requestpath": ["admin", "services", "vpnpassthrough"],
               "dispatchpath": ["admin", "services", "vpnpassthrough"], "pollinterval": 5,
               "ubuspath": "/ubus/", "sessionid": "5e55" * 8, "token": "70ce" * 8,
               "nodespec": self.menu["children"]["admin"]["children"]["services"]["children"][
                   "vpnpassthrough"],
               "apply_rollback": 90, "apply_holdoff": 1, "apply_timeout": 5,
               "apply_display": 1, "rollback_token": None}
        return PAGE.format(env=json.dumps(env).replace("/", "\\/"), body=body)

    def static(self, path):
        for prefix, source in STATIC:
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                source = source + path[len(prefix):] if prefix.endswith("/") else source
                full = os.path.normpath(os.path.join(self.runtime, source))
                if os.path.isfile(full):
                    return full
        return None

    def get(self, req):
        path = urllib.parse.urlsplit(req.path).path
        if path == PAGE_PATH:
            return self.send(req, 200, "text/html; charset=UTF-8", self.page())
        if path == "/conformance":
            return self.send(req, 200, "text/html; charset=UTF-8", self.page(
                '<div id="view"></div><script src="/tests/luci_standin.js"></script>'
                '<script src="/tests/conformance.js"></script>'))
        if path.startswith("/cgi-bin/luci/admin/translations/"):
            return self.send(req, 200, "application/javascript", "")
        if path == "/cgi-bin/luci/admin/menu":
            return self.send(req, 200, "application/json", json.dumps(self.menu))
        full = self.static(path)
        if full is None:
            return self.send(req, 404, "text/plain", "not found: " + html.escape(path))
        with open(full, "rb") as f:
            data = f.read()
        return self.send(req, 200, TYPES.get(os.path.splitext(full)[1], "text/plain"), data)

    def post(self, req):
        path = urllib.parse.urlsplit(req.path).path
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        if path.startswith("/ubus"):
            message = json.loads(body or "null")
            replies = [self.rpc(m) for m in message] if isinstance(message, list) \
                else self.rpc(message)
            return self.send(req, 200, "application/json", json.dumps(replies))
        if path == "/cgi-bin/luci/admin/uci/apply_rollback":
            self.store.commit()
            return self.send(req, 200, "application/json", json.dumps({"token": "0" * 32}))
        if path == "/cgi-bin/luci/admin/uci/apply_unchecked":
            self.store.commit()
            return self.send(req, 204, "text/plain", "")
        if path == "/cgi-bin/luci/admin/uci/confirm":
            self.confirmed.set()
            return self.send(req, 200, "text/plain", "OK")
        if path == "/cgi-bin/luci/admin/uci/revert":
            self.store.revert()
            return self.send(req, 200, "text/plain", "OK")
        return self.send(req, 404, "text/plain", "not found")

    def send(self, req, code, kind, data):
        data = data.encode() if isinstance(data, str) else data
        req.send_response(code)
        req.send_header("Content-Type", kind)
        req.send_header("Content-Length", str(len(data)))
        req.send_header("Cache-Control", "no-store")
        req.end_headers()
        req.wfile.write(data)

    # ubus

    def rpc(self, message):
        reply = {"jsonrpc": "2.0", "id": message.get("id")}
        if message.get("method") == "list":
            reply["result"] = {}
            return reply
        _session, obj, method, args = message["params"]
        self.calls.append((obj, method, args))
        result = self.call(obj, method, args)
        if result is None:
            reply["error"] = {"code": -32000, "message": "Object not found"}
        else:
            reply["result"] = result
        return reply

    def call(self, obj, method, args):
        if (obj, method) == ("session", "access"):
            return [0, {"access": True}]
        if (obj, method) == ("luci", "getFeatures"):
            return [0, {}]
        if (obj, method) == ("file", "list"):
            return [0, {"entries": []}]
        if obj == "vpnpassthrough" and method == "status":
            if self.status is HANG:
                self.release.wait()
            return None if self.status in (HANG, NOT_INSTALLED) else [0, self.status]
        if obj != "uci":
            return None
        try:
            if method == "get":
                if args["config"] in self.denied:
                    return [PERMISSION_DENIED]
                return [0, self.store.get(args["config"])]
            if method in ("set", "delete", "add", "order"):
                found = self.store.stage(method, args)
                return [0, found] if found else [0]
            if method == "changes":
                return [0, self.store.changes()]
            if method in ("apply", "commit"):
                self.store.commit()
                return [0]
            if method == "confirm":
                return [0]
            if method == "revert":
                self.store.revert()
                return [0]
        except UciError as e:
            return [e.code]
        return None
