#!/usr/bin/python3
"""The tray as a StatusNotifierItem (SNI), read and driven over a private D-Bus session bus.

This script is the desktop's side of the protocol: a small org.kde.StatusNotifierWatcher (the
name, /StatusNotifierWatcher, its methods, properties and signals) and a host that reads what the
tray exports (IconPixmap, ToolTip, the com.canonical.dbusmenu menu) and clicks menu items with
dbusmenu Event calls, as a panel does. Qt's offscreen platform never uses the D-Bus tray (its
platform theme makes no QPlatformSystemTrayIcon), so the tray runs on Xvfb with QT_QPA_PLATFORM=xcb.

  A  a fixed `status --json` document (three_machines.json): the item registers; its largest
     pixmap is green with the idle count ("12") in white; its tooltip and menu rows are the
     document's, the share toggle a checked checkmark. When the watcher restarts (a panel
     restart), Qt registers the same item again by itself. Clicking Quit ends the tray, status 0.
  B  live, the share toggle: with nothing on port P the icon is grey, crossed in red; clicking
     "Share this machine's idle cores" starts the tray's own `join` (status answers, the toggle is
     checked, the icon green, "2 of 2 cores idle on 1 machine"); clicking again stops it (status
     exits 1, the icon is crossed again); shared once more, a watcher restart must not interrupt
     the join; SIGTERM ends the tray with status 0 and stops every process it started (the join
     is gone, port P closed).
  C  the SNI host appears after the tray: started with --share before the watcher owns its name,
     the tray picks XEmbed; once the watcher appears the tray runs itself again (same PID) and
     registers an item within 10 s, still sharing. Turned off through the menu, sharing then
     stays off across a watcher restart although the tray was started with --share.

  /usr/bin/python3 sni_test.py SPECSWARM FIXTURES_DIR

One line per check (PASS/FAIL and what was seen); exits 1 on any failure. Every process started
here (Xvfb, dbus-daemon, the trays) is stopped by its PID at the end, also on failure, and so is
anything they started that outlived them.
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from gi.repository import Gio, GLib

WATCHER = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
ITEM_IFACE = "org.kde.StatusNotifierItem"
MENU_IFACE = "com.canonical.dbusmenu"
DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
SHARE = "Share this machine's idle cores"

# The icon's colours (src/tray/tray_icon.h).
GREEN = (0x2E, 0x9E, 0x44)
GREY = (0x80, 0x80, 0x80)
RED = (0xD0, 0x31, 0x2D)

WATCHER_XML = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
    <signal name="StatusNotifierHostUnregistered"/>
  </interface>
</node>
"""

START = time.monotonic()
FAILURES = 0
INTERRUPTED = []  # a signal asked this script to stop (CTest's timeout, ^C)


def now():
    return time.monotonic() - START


def check(ok, what, seen=""):
    global FAILURES
    if not ok:
        FAILURES += 1
    print(f"{'PASS' if ok else 'FAIL'}: {what}" + (f" ({seen})" if seen != "" else "") + f" [{now():.1f} s]", flush=True)
    return ok


class Fatal(Exception):
    """A failure the rest of the test cannot go on without."""


# ---------------------------------------------------------------------------------------------
# Processes: everything started here, by PID; what they start, found through /proc.
# ---------------------------------------------------------------------------------------------
def proc_stat(pid):
    """(state, ppid, start time) of PID, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
    return fields[0], int(fields[1]), int(fields[19])


def running(pid, start=None):
    """PID runs (not a zombie) and, given its start time, is still the same process."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X") and (start is None or st[2] == start)


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def descendants(pid):
    """Every running process below PID: [(pid, start time, argv)]."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st and st[0] not in ("Z", "X"):
                children.setdefault(st[1], []).append((int(entry), st[2]))
    found, queue = [], [pid]
    while queue:
        for child, start in children.get(queue.pop(0), []):
            found.append((child, start, cmdline(child)))
            queue.append(child)
    return found


class Procs:
    """The processes this script started, stopped last first by their PIDs."""

    def __init__(self):
        self.started = []  # Popen
        self.seen_below = {}  # pid -> start time: what they started, seen while they ran

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.started.append(p)
        return p

    def note_descendants(self, p):
        for pid, start, _ in descendants(p.pid):
            self.seen_below[pid] = start

    def stop(self, p, grace=5.0):
        if p.poll() is None:
            self.note_descendants(p)
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
            except ProcessLookupError:
                pass

    def stop_all(self):
        for p in reversed(self.started):
            try:
                self.stop(p)
            except Exception as e:  # keep stopping the others
                print(f"cleanup: could not stop {p.pid}: {e}", flush=True)
        # Anything they started that outlived them (same PID and start time): SIGKILL.
        for pid, start in self.seen_below.items():
            if running(pid, start):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


# ---------------------------------------------------------------------------------------------
# The GLib main loop and asynchronous D-Bus calls. Never a blocking call: while this script
# waits for a reply the tray may be waiting for the watcher (Qt asks IsStatusNotifierHostRegistered
# synchronously), and only the main loop answers it.
# ---------------------------------------------------------------------------------------------
CTX = GLib.MainContext.default()


class Interrupted(Exception):
    pass


def interrupted_check():
    # A Python exception raised inside a GLib callback is printed and dropped, so the signal
    # handler only records the signal and the loops raise here.
    if INTERRUPTED:
        raise Interrupted(f"stopped by signal {INTERRUPTED[0]}")


def pump(seconds):
    """Runs the main loop for SECONDS."""
    done = []
    GLib.timeout_add(max(1, int(seconds * 1000)), lambda: done.append(1) and False)
    while not done:
        CTX.iteration(True)
        interrupted_check()


def wait_until(predicate, timeout, step=0.1):
    """Runs the main loop until PREDICATE() is truthy or TIMEOUT passes; its last value."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= end:
            return value
        pump(step)


class DBusCallError(Exception):
    pass


class Bus:
    def __init__(self, address):
        flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
        self.conn = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
        self.signals = []  # (time, sender, path, interface, member, args)
        self.conn.signal_subscribe(None, ITEM_IFACE, None, None, None, Gio.DBusSignalFlags.NONE, self._on_signal, None)
        self.conn.signal_subscribe(None, MENU_IFACE, None, None, None, Gio.DBusSignalFlags.NONE, self._on_signal, None)

    def _on_signal(self, conn, sender, path, iface, member, params, _data):
        self.signals.append((time.monotonic(), sender, path, iface, member, params.unpack()))

    def signals_since(self, t, sender, members):
        return [s[4] for s in self.signals if s[0] >= t and s[1] == sender and s[4] in members]

    def call(self, dest, path, iface, method, params=None, reply=None, timeout=5.0):
        box = {}

        def done(conn, result, _data):
            try:
                box["value"] = conn.call_finish(result)
            except GLib.Error as e:
                box["error"] = e

        self.conn.call(dest, path, iface, method, params, GLib.VariantType(reply) if reply else None,
                       Gio.DBusCallFlags.NONE, int(timeout * 1000), None, done, None)
        while not box:  # the call's own timeout ends this
            CTX.iteration(True)
            interrupted_check()
        if "error" in box:
            raise DBusCallError(f"{method} on {dest} {path}: {box['error'].message}")
        return box["value"].unpack()

    def daemon(self, method, params=None, reply=None):
        return self.call(*DBUS, method, params, reply)

    def pid_of(self, name):
        try:
            return self.daemon("GetConnectionUnixProcessID", GLib.Variant("(s)", (name,)), "(u)")[0]
        except DBusCallError:
            return None

    def unique_name(self):
        return self.conn.get_unique_name()


class Watcher:
    """org.kde.StatusNotifierWatcher on /StatusNotifierWatcher, and a host registered with it."""

    def __init__(self, bus):
        self.bus = bus
        self.items = []  # {"sender", "arg", "service", "path", "at"}, newest last
        self.hosts = []
        info = Gio.DBusNodeInfo.new_for_xml(WATCHER_XML).interfaces[0]
        self.bus.conn.register_object(WATCHER_PATH, info, self._on_call, self._on_get, None)
        self.bus.conn.signal_subscribe(DBUS[0], DBUS[2], "NameOwnerChanged", DBUS[1], None, Gio.DBusSignalFlags.NONE,
                                       self._on_owner_changed, None)
        self.host_name = f"org.kde.StatusNotifierHost-{os.getpid()}"

    def _emit(self, signal_name, params=None):
        self.bus.conn.emit_signal(None, WATCHER_PATH, WATCHER, signal_name, params)

    def _on_call(self, conn, sender, path, iface, method, params, invocation):
        arg = params.unpack()[0]
        if method == "RegisterStatusNotifierItem":
            # The spec's form is a bus name (the item at /StatusNotifierItem); some register an
            # object path on their own connection instead.
            service, item_path = (sender, arg) if arg.startswith("/") else (arg, "/StatusNotifierItem")
            self.items = [i for i in self.items if (i["service"], i["path"]) != (service, item_path)]
            self.items.append({"sender": sender, "arg": arg, "service": service, "path": item_path,
                               "at": time.monotonic()})
            invocation.return_value(None)
            self._emit("StatusNotifierItemRegistered", GLib.Variant("(s)", (service + item_path,)))
        elif method == "RegisterStatusNotifierHost":
            self.hosts.append(arg)
            invocation.return_value(None)
            self._emit("StatusNotifierHostRegistered")
        else:
            invocation.return_dbus_error("org.freedesktop.DBus.Error.UnknownMethod", method)

    def _on_get(self, conn, sender, path, iface, prop):
        if prop == "RegisteredStatusNotifierItems":
            return GLib.Variant("as", [i["service"] + i["path"] for i in self.items])
        if prop == "IsStatusNotifierHostRegistered":
            return GLib.Variant("b", True)
        if prop == "ProtocolVersion":
            return GLib.Variant("i", 0)
        return None

    def _on_owner_changed(self, conn, sender, path, iface, member, params, _data):
        name, _old, new = params.unpack()
        if new:
            return
        gone = [i for i in self.items if name in (i["sender"], i["service"])]
        self.items = [i for i in self.items if i not in gone]
        for i in gone:
            self._emit("StatusNotifierItemUnregistered", GLib.Variant("(s)", (i["service"] + i["path"],)))

    def own(self):
        # DO_NOT_QUEUE (4): 1 is "primary owner".
        reply = self.bus.daemon("RequestName", GLib.Variant("(su)", (WATCHER, 4)), "(u)")[0]
        if reply != 1:
            raise Fatal(f"could not own {WATCHER} (RequestName replied {reply})")

    def release(self):
        self.bus.daemon("ReleaseName", GLib.Variant("(s)", (WATCHER,)), "(u)")

    def register_host(self):
        self.bus.daemon("RequestName", GLib.Variant("(su)", (self.host_name, 4)), "(u)")
        self.bus.call(WATCHER, WATCHER_PATH, WATCHER, "RegisterStatusNotifierHost", GLib.Variant("(s)", (self.host_name,)))

    def item_of(self, pid, since=0.0):
        """The newest item registered (at or after SINCE) from the process PID."""
        for i in reversed(self.items):
            if i["at"] >= since and self.bus.pid_of(i["sender"]) == pid:
                return i
        return None


# ---------------------------------------------------------------------------------------------
# The host's reading of an item.
# ---------------------------------------------------------------------------------------------
def strip_mnemonic(label):
    """dbusmenu labels mark a mnemonic with "_" and write a literal "_" as "__"."""
    return label.replace("__", "\0").replace("_", "").replace("\0", "_")


class Item:
    def __init__(self, bus, entry):
        self.bus = bus
        self.entry = entry
        self.service, self.path = entry["service"], entry["path"]
        self.sender = entry["sender"]
        self._menu = None

    def prop(self, name):
        return self.bus.call(self.service, self.path, "org.freedesktop.DBus.Properties", "Get",
                             GLib.Variant("(ss)", (ITEM_IFACE, name)), "(v)")[0]

    def pixmaps(self):
        return [(w, h, bytes(data)) for w, h, data in self.prop("IconPixmap")]

    def tooltip(self):
        icon_name, images, title, text = self.prop("ToolTip")
        return {"icon": icon_name, "images": len(images), "title": title, "text": text}

    def menu_path(self):
        if self._menu is None:
            self._menu = self.prop("Menu")
        return self._menu

    def layout(self):
        """The menu's rows, in order: dicts with id, label (mnemonics dropped), raw_label, the rest."""
        revision, root = self.bus.call(self.service, self.menu_path(), MENU_IFACE, "GetLayout",
                                       GLib.Variant("(iias)", (0, -1, [])), "(u(ia{sv}av))")
        rows = []

        def walk(node):
            for child in node[2]:
                ident, props, _children = child
                row = dict(props)
                row["id"] = ident
                row["raw_label"] = props.get("label", "")
                row["label"] = strip_mnemonic(row["raw_label"])
                rows.append(row)
                walk(child)

        walk(root)
        return rows

    def click(self, ident):
        """What a host does when the person picks a row: opened, clicked, closed."""
        ts = int(time.time()) & 0xFFFFFFFF
        self.bus.call(self.service, self.menu_path(), MENU_IFACE, "AboutToShow", GLib.Variant("(i)", (0,)), "(b)")
        for row, event in ((0, "opened"), (ident, "clicked"), (0, "closed")):
            try:
                self.bus.call(self.service, self.menu_path(), MENU_IFACE, "Event",
                              GLib.Variant("(isvu)", (row, event, GLib.Variant("i", 0), ts)))
            except DBusCallError:
                if event != "closed":  # the click may have ended the tray (Quit)
                    raise


def visible_text(rows):
    """The menu as a person reads it: "---" for separators, "[x] "/"[ ] " before toggles."""
    lines = []
    for r in rows:
        if not r.get("visible", True):
            continue
        if r.get("type") == "separator":
            lines.append("---")
        elif r.get("toggle-type") == "checkmark":
            lines.append(("[x] " if r.get("toggle-state") == 1 else "[ ] ") + r["label"])
        else:
            lines.append(r["label"])
    return lines


def row_labelled(rows, label):
    for r in rows:
        if r.get("visible", True) and r["label"] == label:
            return r
    return None


def near(pixel, colour, tolerance=24):
    return all(abs(a - b) < tolerance for a, b in zip(pixel, colour))


def icon_face(pixmaps):
    """Reads the largest pixmap (ARGB32, network byte order): shares of green, grey, red and
    white among its opaque pixels, and the number of separate white shapes (the digits)."""
    if not pixmaps:
        return {"size": "none", "green": 0, "grey": 0, "red": 0, "white": 0, "shapes": 0, "ok": False}
    w, h, data = max(pixmaps, key=lambda p: p[0] * p[1])
    ok = len(data) == w * h * 4
    opaque = green = grey = red = 0
    white = set()
    for y in range(h):
        for x in range(w):
            a, r, g, b = data[(y * w + x) * 4:(y * w + x) * 4 + 4] if ok else (0, 0, 0, 0)
            if a < 250:
                continue
            opaque += 1
            green += near((r, g, b), GREEN)
            grey += near((r, g, b), GREY)
            red += near((r, g, b), RED)
            if min(r, g, b) >= 232:
                white.add((x, y))
    shapes, todo = 0, set(white)
    while todo:  # 4-connected white shapes of 3 pixels or more
        stack, size = [todo.pop()], 0
        while stack:
            x, y = stack.pop()
            size += 1
            for n in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if n in todo:
                    todo.remove(n)
                    stack.append(n)
        shapes += size >= 3
    pct = lambda n: round(100 * n / opaque) if opaque else 0
    return {"size": f"{w}x{h}", "green": pct(green), "grey": pct(grey), "red": pct(red), "white": pct(len(white)),
            "shapes": shapes, "ok": ok and opaque > w * h // 2}


def face_text(f):
    return f"{f['size']}: green {f['green']}%, grey {f['grey']}%, red {f['red']}%, white {f['white']}%, {f['shapes']} white shapes"


def is_green(f, digits):
    """Sharing: a green square with the idle count in white, one shape per digit."""
    return f["ok"] and f["green"] >= 50 and f["white"] >= 3 and f["grey"] == 0 and f["red"] == 0 and f["shapes"] == digits


def is_crossed(f):
    """No swarm: a grey square crossed by a red bar, no number."""
    return f["ok"] and f["grey"] >= 30 and f["red"] >= 4 and f["green"] == 0 and f["white"] == 0


# ---------------------------------------------------------------------------------------------
# The test.
# ---------------------------------------------------------------------------------------------
class Test:
    def __init__(self, specswarm, fixtures):
        self.specswarm = specswarm
        self.fixtures = fixtures
        self.procs = Procs()
        self.tmp = tempfile.mkdtemp(prefix="specswarm-sni.")
        self.logs = []

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def dump_logs(self):
        for log in self.logs + [self.path("state", "specswarm", "join.log")]:
            try:
                with open(log, errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            if lines:
                print(f"--- {os.path.relpath(log, self.tmp)} (last lines)")
                for line in lines[-15:]:
                    print("    " + line)
        sys.stdout.flush()

    def log_file(self, name):
        """A file for a child's output (the child keeps its own descriptor)."""
        path = self.path(name)
        self.logs.append(path)
        return open(path, "wb")

    def start_logged(self, argv, log, **kw):
        with self.log_file(log) as out:
            return self.procs.start(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, **kw)

    # -- the display, the bus, the watcher -------------------------------------------------
    def read_line(self, fd, what, timeout=10.0):
        end, buf = time.monotonic() + timeout, b""
        while b"\n" not in buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise Fatal(f"{what}: nothing printed within {timeout:.0f} s")
            chunk = os.read(fd, 256)
            if not chunk:
                raise Fatal(f"{what}: exited before printing it")
            buf += chunk
        return buf.split(b"\n")[0].decode().strip()

    def setup(self):
        for d in ("home", "config", "state", "cache", "data", "runtime"):
            os.makedirs(self.path(d), mode=0o700)
        os.chmod(self.path("runtime"), 0o700)
        for tool in ("Xvfb", "dbus-daemon"):
            if not shutil.which(tool):
                raise Fatal(f"{tool} is not installed (xvfb, dbus-daemon)")
        if not os.access(self.specswarm, os.X_OK):
            raise Fatal(f"{self.specswarm} is not an executable")

        # Xvfb on the first free display (-displayfd: it writes the number once it listens).
        rfd, wfd = os.pipe()
        self.start_logged(["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                          "xvfb.log", pass_fds=(wfd,))
        os.close(wfd)
        display = ":" + self.read_line(rfd, "Xvfb's display number")
        os.close(rfd)

        # A private session bus, its socket in our temp dir.
        rfd, wfd = os.pipe()
        self.start_logged(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                           f"--address=unix:path={self.path('bus')}", f"--print-address={wfd}"],
                          "dbus.log", pass_fds=(wfd,))
        os.close(wfd)
        address = self.read_line(rfd, "dbus-daemon's address")
        os.close(rfd)

        env = {k: v for k, v in os.environ.items()
               if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "SESSION_MANAGER", "SPECSWARM_BIN",
                            "QT_QPA_PLATFORMTHEME", "QT_STYLE_OVERRIDE", "XDG_CURRENT_DESKTOP", "DESKTOP_SESSION",
                            "XDG_SESSION_DESKTOP", "XAUTHORITY")}
        env.update(DBUS_SESSION_BUS_ADDRESS=address, DISPLAY=display, QT_QPA_PLATFORM="xcb", LC_ALL="C.UTF-8",
                   HOME=self.path("home"), XDG_CONFIG_HOME=self.path("config"), XDG_STATE_HOME=self.path("state"),
                   XDG_CACHE_HOME=self.path("cache"), XDG_DATA_HOME=self.path("data"),
                   XDG_RUNTIME_DIR=self.path("runtime"), SPECSWARM_TRAY_NO_SYSTEMD="1")
        self.env = env
        self.bus = Bus(address)
        self.watcher = Watcher(self.bus)
        check(True, "Xvfb and a private session bus", f"DISPLAY={display}, {address}")

    # -- helpers on trays ----------------------------------------------------------------------
    def start_tray(self, name, args):
        err = self.path(f"{name}.err")
        self.logs.append(err)
        with self.log_file(f"{name}.out") as out, open(err, "wb") as errf:
            p = self.procs.start([self.specswarm, "tray"] + args, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=errf)
        p.err = err
        return p

    def tray_log(self, p):
        with open(p.err, errors="replace") as f:
            return f.read().splitlines()

    def logged(self, p, prefix):
        return [line[len(prefix):] for line in self.tray_log(p) if line.startswith(prefix)]

    def wait_item(self, p, since=0.0, timeout=10.0):
        """The item the process P registers with the watcher (at or after SINCE)."""
        entry = wait_until(lambda: p.poll() is not None or self.watcher.item_of(p.pid, since), timeout)
        if isinstance(entry, dict):
            return Item(self.bus, entry)
        return None

    def state(self, item):
        """What a host shows of ITEM now: face, tooltip, rows."""
        return {"face": icon_face(item.pixmaps()), "tooltip": item.tooltip(), "rows": item.layout()}

    def wait_state(self, item, predicate, timeout, follow=None):
        """Reads ITEM until PREDICATE holds. FOLLOW=(pid, since): should the item go away (its
        process started again), read the one that process registers next."""
        last = {}
        current = [item]

        def probe():
            try:
                last.clear()
                last.update(self.state(current[0]))
            except DBusCallError as e:
                last["error"] = str(e)
                entry = self.watcher.item_of(*follow) if follow else None
                if entry and entry["sender"] != current[0].sender:
                    current[0] = Item(self.bus, entry)
                return False
            return predicate(last)

        ok = wait_until(probe, timeout, step=0.2)
        return bool(ok), last

    def share_row(self, rows):
        return row_labelled(rows, SHARE)

    def status(self, port):
        r = subprocess.run([self.specswarm, "status", "--json", "--timeout", "1", "--port", str(port)], env=self.env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            doc = None
        return r.returncode, doc, r.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]

    def port_answers(self, port):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            return s.connect_ex(("127.0.0.1", port)) == 0

    def free_port(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", 0))
            return s.getsockname()[1]

    def joins_of(self, p):
        """The `specswarm join` processes P started itself (join forks its node: not counted)."""
        return [(pid, start) for pid, start, argv in descendants(p.pid)
                if argv[1:2] == ["join"] and (proc_stat(pid) or ("", 0, 0))[1] == p.pid]

    def restart_watcher(self):
        """The desktop's panel restarts: the watcher's name goes away, a new watcher (knowing no
        item) takes it half a second later. Returns when the new one owns the name."""
        self.watcher.release()
        self.watcher.items = []
        pump(0.5)
        t0 = time.monotonic()
        self.watcher.own()
        return t0

    def end_tray(self, p, what, port=None, quit_via=None):
        """SIGTERM (or a click on Quit in `quit_via`'s menu): the tray exits 0 within 10 s, and
        nothing it started is left."""
        self.procs.note_descendants(p)
        below = descendants(p.pid)
        t0 = time.monotonic()
        how = "SIGTERM"
        if quit_via is not None:
            how = "clicking Quit"
            quit_via.click(row_labelled(quit_via.layout(), "Quit")["id"])
        else:
            p.send_signal(signal.SIGTERM)
        try:
            code = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = "still running"
        check(code == 0, f"{what}: {how} ends the tray with status 0 within 10 s",
              f"status {code} after {time.monotonic() - t0:.1f} s")
        alive = lambda: [f"{pid} {' '.join(argv[:2])}" for pid, start, argv in below if running(pid, start)]
        wait_until(lambda: not alive(), 3.0)
        left = alive()
        shown = ", ".join(f"{pid} {' '.join(argv[:2])}" for pid, start, argv in below) or "none"
        check(not left, f"{what}: none of the processes the tray started outlives it",
              f"started: {shown}" + (f"; still running: {left}" if left else ""))
        if port is not None:
            check(not self.port_answers(port), f"{what}: nothing answers on port {port} after the tray ended")

    # -- case A ------------------------------------------------------------------------------
    def case_a(self):
        print("--- case A: specswarm tray --status three_machines.json", flush=True)
        t0 = time.monotonic()
        tray = self.start_tray("tray-a", ["--status", os.path.join(self.fixtures, "three_machines.json"), "-v"])
        item = self.wait_item(tray)
        if not check(item is not None, "the tray registers a StatusNotifierItem with the watcher within 10 s",
                     f"exited {tray.poll()}" if item is None and tray.poll() is not None else
                     f"after {time.monotonic() - t0:.1f} s" if item else "no RegisterStatusNotifierItem"):
            raise Fatal("no item to read")
        e = item.entry
        form = ("an object path on its own connection" if e["arg"].startswith("/") else
                "its unique bus name" if e["arg"].startswith(":") else "a well-known bus name")
        check(self.bus.pid_of(e["sender"]) == tray.pid,
              "the item is the tray's: the registering connection belongs to the tray's PID",
              f"RegisterStatusNotifierItem(\"{e['arg']}\") from {e['sender']} (pid {self.bus.pid_of(e['sender'])}): "
              f"{form}; item {e['service']} {e['path']}")
        protocol = wait_until(lambda: self.logged(tray, "specswarm tray: protocol: "), 5.0)
        check(protocol[:1] == ["StatusNotifierItem"], "the tray logs the StatusNotifierItem protocol",
              f"protocol: {protocol[0] if protocol else '(not logged)'}")

        status = item.prop("Status")
        check(status == "Active", "the item's Status is Active (a host shows it)",
              f"Status={status!r}, Category={item.prop('Category')!r}, Id={item.prop('Id')!r}, "
              f"Title={item.prop('Title')!r}, IconName={item.prop('IconName')!r}")

        pixmaps = item.pixmaps()
        sizes = [f"{w}x{h}" for w, h, _ in pixmaps]
        check(pixmaps and all(len(d) == w * h * 4 for w, h, d in pixmaps) and max(w for w, _, _ in pixmaps) >= 48,
              "IconPixmap holds ARGB32 images up to at least 48 px", ", ".join(sizes))
        face = icon_face(pixmaps)
        check(is_green(face, 2), "the largest pixmap is green (#2e9e44) with \"12\" in white (two white shapes)",
              face_text(face))

        tip = item.tooltip()
        expected_tip = "specswarm: 12 of 24 cores idle on 3 machines · this machine: 2 of 8 busy"
        check("12 of 24 cores idle on 3 machines" in tip["title"] + tip["text"],
              "the ToolTip says \"12 of 24 cores idle on 3 machines\"",
              f"title={tip['title']!r}, text={tip['text']!r}, icon={tip['icon']!r}, {tip['images']} images")
        check(tip["title"] == expected_tip and tip["text"] == "",
              "the ToolTip's title is the tray's whole tooltip, its text empty", f"title={tip['title']!r}")

        rows = item.layout()
        raw = [r["raw_label"] for r in rows if r["raw_label"] != r["label"]]
        check(not raw, "the labels carry no mnemonic marker (dbusmenu's \"_\", Qt's \"&\")", f"changed by dropping them: {raw}" if raw else "none")
        expected = [
            "12 of 24 cores idle on 3 machines · this machine: 2 of 8 busy",
            "---",
            "ws12 (this machine): 2 busy, 6 idle · serving build-07",
            "ws14: 4 busy, 4 idle · serving build-07",
            "build-07: 6 busy, 2 idle · serving build-07",
            "10.0.0.30: no answer",
            "---",
            "run from build-07 at 9d2c1a0b3e: running, 65 files done, 12 slots on 3 machines",
            "---",
            "[x] " + SHARE,
            "---",
            "Quit",
        ]
        seen = visible_text(rows)
        check(seen == expected, "the menu (GetLayout) shows the document's rows, in order",
              " | ".join(seen) if seen != expected else f"{len(seen)} rows: {seen[2]} ... Quit")
        share = self.share_row(rows)
        check(share is not None and share.get("toggle-type") == "checkmark" and share.get("toggle-state") == 1
              and share.get("enabled", True) is False,
              "the share row is a checked checkmark, disabled (a fixed document: it only shows the state)",
              {k: share.get(k) for k in ("id", "toggle-type", "toggle-state", "enabled")} if share else "no share row")
        info = [r for r in rows if r.get("visible", True) and r.get("type") != "separator" and r["label"] != "Quit"
                and r["label"] != SHARE and r.get("enabled", True)]
        check(not info, "the information rows are disabled (not commands)", f"enabled: {[r['label'] for r in info]}")
        quit_row = row_labelled(rows, "Quit")
        check(quit_row is not None and quit_row.get("enabled", True), "Quit is enabled",
              f"id {quit_row['id']}" if quit_row else "no Quit row")

        # The panel restarts. The fixed tray does not watch for watchers (no re-exec): whatever
        # happens here is Qt's own doing.
        t0 = self.restart_watcher()
        again = self.wait_item(tray, since=t0)
        check(again is not None and again.sender == item.sender and tray.poll() is None,
              "after a watcher restart Qt registers the same item again by itself (same connection)",
              f"after {time.monotonic() - t0:.1f} s: RegisterStatusNotifierItem(\"{again.entry['arg']}\") from "
              f"{again.sender}" if again else f"no registration within 10 s; tray status {tray.poll()}")
        if again:
            item = again
        if quit_row:
            t0 = time.monotonic()
            item.click(quit_row["id"])
            try:
                code = tray.wait(timeout=10)
            except subprocess.TimeoutExpired:
                code = "still running"
            check(code == 0, "clicking Quit (dbusmenu Event \"clicked\") ends the tray with status 0 within 10 s",
                  f"status {code} after {time.monotonic() - t0:.1f} s")
            gone = wait_until(lambda: not self.watcher.item_of(tray.pid) and not any(
                i["sender"] == e["sender"] for i in self.watcher.items), 3.0)
            check(gone, "the watcher drops the item once the tray's connection closes",
                  f"RegisteredStatusNotifierItems: {[i['service'] + i['path'] for i in self.watcher.items]}")

    # -- case B ------------------------------------------------------------------------------
    def make_key(self):
        r = subprocess.run([self.specswarm, "key", "new"], env=self.env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
        if r.returncode != 0:
            raise Fatal(f"specswarm key new failed ({r.returncode}): {r.stderr.decode(errors='replace').strip()}")
        fp = re.search(r"fingerprint: *(\S+)", r.stdout.decode(errors="replace"))
        check(True, f"a swarm key in {self.env['XDG_CONFIG_HOME']}", fp.group(1) if fp else "made")

    def live_args(self, port, share=False):
        return (["-v", "--port", str(port), "--interval", "0.3"] + (["--share"] if share else []) +
                ["--", "--allow-root", "--port", str(port), "--no-mdns", "--slots", "2"])

    def sharing_state(self, s):
        share = self.share_row(s["rows"])
        return (share is not None and share.get("toggle-state") == 1 and is_green(s["face"], 1)
                and "2 of 2 cores idle on 1 machine" in s["tooltip"]["title"])

    def not_sharing_state(self, s):
        share = self.share_row(s["rows"])
        return (share is not None and share.get("toggle-state") == 0 and is_crossed(s["face"])
                and "no swarm reachable" in s["tooltip"]["title"] and "\n" in s["tooltip"]["title"])

    def describe(self, s):
        if "rows" not in s:
            return s.get("error", "nothing read")
        share = self.share_row(s["rows"]) or {}
        return (f"toggle-state {share.get('toggle-state')}, enabled {share.get('enabled', True)}; "
                f"icon {face_text(s['face'])}; tooltip {s['tooltip']['title']!r}")

    def toggle(self, item, port, on, what):
        rows = item.layout()
        share = self.share_row(rows)
        if share is None:
            raise Fatal(f"no \"{SHARE}\" row in the menu: {visible_text(rows)}")
        t0 = time.monotonic()
        item.click(share["id"])
        ok, s = self.wait_state(item, self.sharing_state if on else self.not_sharing_state, 10.0)
        took = time.monotonic() - t0
        looks = ('the toggle is checked, the icon green with "2" in white, the tooltip says '
                 '"2 of 2 cores idle on 1 machine"' if on else
                 'the toggle is unchecked, the icon grey, crossed in red, the tooltip says "no swarm reachable"')
        check(ok, f"{what}: {looks} within 10 s", f"after {took:.1f} s: {self.describe(s)}")
        told = self.bus.signals_since(t0, item.sender, ("LayoutUpdated", "ItemsPropertiesUpdated"))
        icon = self.bus.signals_since(t0, item.sender, ("NewIcon",))
        tip = self.bus.signals_since(t0, item.sender, ("NewToolTip",))
        check(told and icon and tip, f"{what}: the host is told (dbusmenu and item signals)",
              f"{len(told)} menu updates ({', '.join(sorted(set(told)))}), {len(icon)} NewIcon, {len(tip)} NewToolTip")
        code, doc, err = self.status(port)
        if on:
            nodes = [n for n in (doc or {}).get("nodes", []) if n.get("self")]
            check(code == 0 and nodes and nodes[0].get("reachable") and nodes[0].get("slots") == 2,
                  f"{what}: `specswarm status --port {port}` finds this machine's node (2 slots)",
                  f"exit {code}, self node: " + (json.dumps({k: nodes[0].get(k) for k in ("host", "slots", "busy", "idle")})
                                                 if nodes else "none"))
        else:
            check(code == 1, f"{what}: `specswarm status --port {port}` exits 1 (no join here)",
                  f"exit {code}: {err[0]}")

    def case_b(self):
        print("--- case B: specswarm tray --port P, sharing toggled through the menu", flush=True)
        port = self.free_port()
        tray = self.start_tray("tray-b", self.live_args(port))
        item = self.wait_item(tray)
        if not check(item is not None, f"the live tray (port {port}) registers an item within 10 s",
                     f"{item.entry['arg']}" if item else f"tray status {tray.poll()}"):
            raise Fatal("no item to read")
        ok, s = self.wait_state(item, self.not_sharing_state, 10.0)
        check(ok, "with nothing on the port: toggle unchecked, icon grey crossed in red, \"no swarm reachable\"",
              self.describe(s))
        share = self.share_row(s.get("rows", []))
        check(share is not None and share.get("enabled", True) and share.get("toggle-type") == "checkmark",
              "the share row is an enabled checkmark", {k: share.get(k) for k in ("id", "toggle-type", "enabled")}
              if share else "no share row")
        summary = visible_text(s.get("rows", []))[:1]
        check(summary == ["no swarm reachable · this machine: not sharing"], "the menu's first row says the same",
              summary)

        self.toggle(item, port, True, "share")
        joins = self.joins_of(tray)
        check(len(joins) == 1, "the tray runs one `specswarm join` of its own", f"join pids {[j[0] for j in joins]}")

        self.toggle(item, port, False, "unshare")
        left = wait_until(lambda: not any(running(pid, start) for pid, start in joins), 3.0)
        check(left and not self.port_answers(port), "its join has ended, nothing answers on the port",
              f"join {'gone' if left else 'still running'}")

        self.toggle(item, port, True, "share again")

        # The panel restarts while this machine shares. Qt re-registers the item with the new
        # watcher itself (case A shows it); restarting the tray would stop and start its join,
        # dropping whatever the node was serving.
        joins = self.joins_of(tray)
        t0 = self.restart_watcher()
        again = self.wait_item(tray, since=t0)
        check(again is not None, "after a watcher restart the sharing tray's item is registered again within 10 s",
              f"after {time.monotonic() - t0:.1f} s from {again.sender} (before: {item.sender})" if again else
              f"tray status {tray.poll()}")
        # The tray's own reaction to a new watcher comes 0.5 s after it appears (tray_app.cc):
        # give it 2 s to show, then read the item the watcher knows last.
        pump(max(0.0, t0 + 2.0 - time.monotonic()))
        again = self.wait_item(tray, since=t0) or again
        if again:
            ok, s = self.wait_state(again, self.sharing_state, 10.0, follow=(tray.pid, t0))
            check(ok, "it still shows sharing: toggle checked, icon green, \"2 of 2 cores idle on 1 machine\"",
                  self.describe(s))
        restarted = self.logged(tray, "specswarm tray: a StatusNotifierWatcher appeared")
        kept = len(joins) == 1 and running(*joins[0]) and self.joins_of(tray) == joins
        check(kept, "a watcher restart does not interrupt sharing: the tray's own join keeps running",
              f"join {joins[0][0] if joins else '?'} {'still running' if kept else 'was stopped'}, the tray's joins now "
              f"{[j[0] for j in self.joins_of(tray)]}" + ("; the tray logged \"a StatusNotifierWatcher appeared: "
                                                          "starting again to use it\"" if restarted else ""))
        # Quit while the tray's own join runs: the join is stopped, then the tray ends.
        self.end_tray(tray, "sharing", port, quit_via=again)

    # -- case C ------------------------------------------------------------------------------
    def case_c(self):
        print("--- case C: the StatusNotifierWatcher appears after the tray", flush=True)
        self.watcher.release()
        owner = self.bus.daemon("NameHasOwner", GLib.Variant("(s)", (WATCHER,)), "(b)")[0]
        check(not owner, f"{WATCHER} has no owner on the bus")
        port = self.free_port()
        tray = self.start_tray("tray-c", self.live_args(port, share=True))
        protocol = wait_until(lambda: self.logged(tray, "specswarm tray: protocol: ") or tray.poll() is not None, 10.0)
        check(protocol == ["XEmbed (no tray yet: the icon appears when one starts)"] or protocol == ["XEmbed"],
              "without a watcher the tray picks XEmbed", f"protocol: {protocol}")
        answered = wait_until(lambda: self.status(port)[0] == 0, 10.0, step=0.3)
        joins = self.joins_of(tray)
        check(answered and len(joins) == 1, "--share: the tray's join answers on the port",
              f"join pids {[j[0] for j in joins]}")

        t0 = time.monotonic()
        self.watcher.own()
        item = self.wait_item(tray, since=t0, timeout=10.0)
        took = time.monotonic() - t0
        check(item is not None and tray.poll() is None,
              "once the watcher owns its name the tray registers an item within 10 s, as the same process",
              f"after {took:.1f} s from pid {tray.pid}" if item else f"no item; tray status {tray.poll()}")
        appeared = self.logged(tray, "specswarm tray: a StatusNotifierItem host appeared")
        # Qt registers the item before the tray logs its protocol line: wait for the line.
        wait_until(lambda: self.logged(tray, "specswarm tray: protocol: ")[-1:] == ["StatusNotifierItem"], 5.0)
        protocols = self.logged(tray, "specswarm tray: protocol: ")
        check(appeared and protocols[-1:] == ["StatusNotifierItem"],
              "the tray logs the host's appearance and starts again on StatusNotifierItem",
              f"protocol lines: {protocols}")
        argv = cmdline(tray.pid)
        check(argv.count("--share") == 1 and argv[-1] == "2", "it runs again with its arguments (--share once)",
              " ".join(argv[1:]))
        if item is None:
            self.end_tray(tray, "after the restart", port)
            return
        ok, s = self.wait_state(item, self.sharing_state, 10.0)
        check(ok, "after the restart it shares again: toggle checked, icon green, \"2 of 2 cores idle on 1 machine\"",
              self.describe(s))
        gone = not any(running(pid, start) for pid, start in joins)
        now_joins = self.joins_of(tray)
        check(gone and len(now_joins) == 1, "the join from before the restart was stopped, one new join runs",
              f"before {[j[0] for j in joins]} ({'gone' if gone else 'running'}), now {[j[0] for j in now_joins]}")

        # The person turns sharing off, then the panel restarts: their choice stands, although
        # the tray was started with --share.
        self.toggle(item, port, False, "unshare after the restart")
        t0 = self.restart_watcher()
        pump(max(0.0, t0 + 3.0 - time.monotonic()))  # a restarted tray would share again by now
        latest = self.wait_item(tray, since=t0, timeout=7.0)
        try:
            rows = latest.layout() if latest else []
        except DBusCallError:
            rows = []
        share = self.share_row(rows) or {}
        code, _, _ = self.status(port)
        joins = self.joins_of(tray)
        restarted = self.logged(tray, "specswarm tray: a StatusNotifierWatcher appeared")
        check(latest is not None and share.get("toggle-state") == 0 and not joins and code == 1,
              "turned off, sharing stays off across a watcher restart (the tray was started with --share)",
              f"item {'registered again' if latest else 'not registered again'}, toggle-state "
              f"{share.get('toggle-state')}, the tray's joins {[j[0] for j in joins]}, status exit {code}"
              f"; the tray logged \"a StatusNotifierWatcher appeared\" {len(restarted)} times")
        self.end_tray(tray, "after the restart", port)

    def run(self):
        try:
            self.setup()
            self.watcher.own()
            self.watcher.register_host()
            check(True, f"a StatusNotifierWatcher and host on the bus ({self.bus.unique_name()})",
                  f"{WATCHER}, host {self.watcher.hosts}")
            self.case_a()
            self.make_key()
            self.case_b()
            self.case_c()
        except (Fatal, Interrupted) as e:
            check(False, str(e))
        except DBusCallError as e:
            check(False, f"a D-Bus call failed: {e}")
        finally:
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(s, signal.SIG_IGN)  # a second signal must not cut the cleanup short
            if FAILURES:
                self.dump_logs()
            self.procs.stop_all()
            shutil.rmtree(self.tmp, ignore_errors=True)
        print(f"sni test: {'all checks passed' if not FAILURES else f'{FAILURES} check(s) failed'} in {now():.1f} s",
              flush=True)
        return 1 if FAILURES else 0


def main():
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} SPECSWARM FIXTURES_DIR", file=sys.stderr)
        return 2

    def on_signal(signum, _frame):  # CTest's timeout, ^C: clean up on the way out
        INTERRUPTED.append(signum)
        raise Interrupted(f"stopped by signal {signum}")

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    return Test(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])).run()


if __name__ == "__main__":
    sys.exit(main())
