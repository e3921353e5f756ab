#!/usr/bin/env bash
# The tray in a real XEmbed system tray: Xvfb, a private D-Bus session bus without any
# StatusNotifierWatcher (so Qt picks XEmbed), and trayer, the small GTK tray. The tray is driven
# the way a person drives it: xdotool clicks on the embedded icon and on the menu rows at the
# screen positions the tray logs with -v ("menu row: X,Y WxH TEXT"), and what it draws is read
# back from screenshots of the root window.
#
#   A  a fixed `status --json` document (three_machines.json): the icon embeds in trayer, is
#      green with the idle count in white; a right click opens the menu with the expected rows,
#      visible on screen inside the menu window; clicking Quit ends the tray with status 0.
#   B  live: the tray polls a port nothing answers on ("no swarm reachable", grey icon crossed in
#      red); a left click opens the menu, the "Share this machine's idle cores" row starts the
#      tray's own `join` (status then answers, the icon turns green), the row again stops it
#      (status exits 1, grey again); shared once more, SIGTERM ends the tray with status 0 and
#      stops every process it started.
#
#   bash xembed_test.sh SPECSWARM FIXTURES_DIR SCREENSHOT_DIR
#
# One line per check (PASS/FAIL and what was seen); exits 1 on any failure. Screenshots:
# tray-xembed.png, tray-menu.png (case A), tray-share-on.png, tray-share-off.png (case B).
set -u -o pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 SPECSWARM FIXTURES_DIR SCREENSHOT_DIR" >&2
  exit 2
fi
SPECSWARM=$(readlink -f "$1")
FIXTURES=$(readlink -f "$2")
SHOTS=$3
mkdir -p "$SHOTS" && SHOTS=$(readlink -f "$SHOTS")
export LC_ALL=C.UTF-8

FAILURES=0
START=$SECONDS
pass() { echo "PASS: $* [$((SECONDS - START)) s]"; }
fail() {
  echo "FAIL: $* [$((SECONDS - START)) s]"
  FAILURES=$((FAILURES + 1))
}
check() {  # check CONDITION_STATUS WHAT SEEN
  if [ "$1" -eq 0 ]; then pass "$2 ($3)"; else fail "$2 ($3)"; fi
}
# A failure the rest of the test cannot go on without: say so, show the logs, stop.
fatal() {
  fail "$*"
  fail_with_logs "$TMP"/*.err "$TMP"/*.log "$TMP"/state/specswarm/join.log
}
# The last lines of each log given, then the count of failed checks; exits 1.
fail_with_logs() {
  for log in "$@"; do
    [ -s "$log" ] || continue
    echo "--- ${log#"$TMP"/} (last lines)"
    tail -n 15 "$log"
  done
  echo "xembed test: $FAILURES check(s) failed"
  exit 1
}

for tool in Xvfb trayer dbus-daemon xdotool xwininfo xprop import convert compare; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (xvfb, trayer, dbus, xdotool, x11-utils, imagemagick)"; exit 1; }
done
[ -x "$SPECSWARM" ] || { echo "FAIL: $SPECSWARM is not an executable"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/specswarm-xembed.XXXXXX")
mkdir -p "$TMP"/{home,config,state,cache,data,runtime}
chmod 700 "$TMP/runtime"
PIDS=()  # everything started here, in start order; cleanup stops them last first

cleanup() {
  local i pid
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[i]}
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do  # 5 s: the tray stops its join first
      proc_alive "$pid" || break
      sleep 0.1
    done
    proc_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Running and not yet a zombie (a child of this shell that ended stays one until `wait`).
proc_alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Every process below PID (children, grandchildren...), one PID a line.
descendants() {
  local all
  all=$(ps -e -o pid=,ppid=)
  local queue=("$1") p c
  while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    for c in $(awk -v p="$p" '$2 == p {print $1}' <<<"$all"); do
      echo "$c"
      queue+=("$c")
    done
  done
}

# Processes, other than this script's own and those in PIDS, whose environment is this test's
# (XDG_STATE_HOME in $TMP): what the trays started and left behind. "PID COMMAND" a line.
strays() {
  local mine e p
  mine=" $$ $(descendants $$ | tr '\n' ' ') ${PIDS[*]} "
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}
    p=${p%/environ}
    case "$mine" in *" $p "*) continue ;; esac
    { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qxF "XDG_STATE_HOME=$TMP/state" || continue
    echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
  done
}

# wait_for SECONDS COMMAND...: retries COMMAND every 0.1 s until it succeeds or time runs out.
wait_for() {
  local tenths=$(($1 * 10))
  shift
  for _ in $(seq 1 "$tenths"); do
    "$@" && return 0
    sleep 0.1
  done
  "$@"
}

# ---------------------------------------------------------------------------------------------
# The display, the session bus, the tray host.
# ---------------------------------------------------------------------------------------------
SCREEN_W=800 SCREEN_H=600
Xvfb -displayfd 3 -screen 0 "${SCREEN_W}x${SCREEN_H}x24" -nolisten tcp 3>"$TMP/display" >"$TMP/xvfb.log" 2>&1 &
PIDS+=($!)
has_display() { [ -s "$TMP/display" ] && grep -q '^[0-9]' "$TMP/display"; }
wait_for 10 has_display || fatal "Xvfb reported no display number within 10 s"
DISPLAY=":$(head -n1 "$TMP/display" | tr -d '[:space:]')"
export DISPLAY

unset DBUS_SESSION_BUS_ADDRESS SESSION_MANAGER WAYLAND_DISPLAY QT_QPA_PLATFORMTHEME QT_STYLE_OVERRIDE SPECSWARM_BIN
# Qt's pixels are the screen's (no high-DPI scaling) unless XEMBED_TEST_SCALE asks for a factor.
unset QT_SCALE_FACTOR QT_SCREEN_SCALE_FACTORS QT_AUTO_SCREEN_SCALE_FACTOR QT_ENABLE_HIGHDPI_SCALING QT_FONT_DPI \
  QT_SCALE_FACTOR_ROUNDING_POLICY QT_DEVICE_PIXEL_RATIO QT_USE_PHYSICAL_DPI
[ -n "${XEMBED_TEST_SCALE:-}" ] && export QT_SCALE_FACTOR=$XEMBED_TEST_SCALE
dbus-daemon --session --nofork --nopidfile --address="unix:path=$TMP/bus" --print-address=3 3>"$TMP/bus-address" \
  >"$TMP/dbus.log" 2>&1 &
PIDS+=($!)
has_bus() { [ -s "$TMP/bus-address" ]; }
wait_for 10 has_bus || fatal "dbus-daemon printed no address within 10 s"
DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$TMP/bus-address")
export DBUS_SESSION_BUS_ADDRESS
export HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/config" XDG_STATE_HOME="$TMP/state" XDG_CACHE_HOME="$TMP/cache" \
  XDG_DATA_HOME="$TMP/data" XDG_RUNTIME_DIR="$TMP/runtime" QT_QPA_PLATFORM=xcb
pass "Xvfb on $DISPLAY (${SCREEN_W}x${SCREEN_H}x24), private session bus $DBUS_SESSION_BUS_ADDRESS"

# --transparent false: trayer paints its own (GTK theme) background; --tint applies only when
# transparent, it is kept so a maintainer switching transparency on gets a dark panel.
trayer --edge top --align right --widthtype request --height 32 --SetDockType true --transparent false \
  --tint 0x303030 >"$TMP/trayer.log" 2>&1 &
PIDS+=($!)
TRAYER_PID=$!
PANEL=""
find_panel() {
  proc_alive "$TRAYER_PID" || return 1
  PANEL=$(xdotool search --classname '^panel$' 2>/dev/null | head -n1)
  [ -n "$PANEL" ] && xwininfo -id "$PANEL" 2>/dev/null | grep -q 'Map State: IsViewable'
}
wait_for 10 find_panel || fatal "trayer's panel window did not appear within 10 s"
pass "trayer's panel is mapped (window $PANEL)"

# ---------------------------------------------------------------------------------------------
# Helpers on the tray.
# ---------------------------------------------------------------------------------------------
# The icon window of tray PID that trayer embedded: ICON_X ICON_Y ICON_W ICON_H (screen
# coordinates), found below trayer's panel and told apart by its _NET_WM_PID.
ICON_X="" ICON_Y="" ICON_W="" ICON_H=""
find_icon() {  # find_icon PID
  local line geom id
  while read -r line; do
    # e.g.  0x400006 "specswarm": ("specswarm-tray" "specswarm")  22x30+0+0  +777+1
    id=$(awk '{print $1}' <<<"$line")
    xprop -id "$id" _NET_WM_PID 2>/dev/null | grep -qx "_NET_WM_PID(CARDINAL) = $1" || continue
    geom=$(sed -E 's/.*\)[[:space:]]+([0-9]+)x([0-9]+)[-+][0-9-]+[-+][0-9-]+[[:space:]]+\+(-?[0-9]+)\+(-?[0-9]+).*/\1 \2 \3 \4/' <<<"$line")
    read -r ICON_W ICON_H ICON_X ICON_Y <<<"$geom"
    [[ "$ICON_W" =~ ^[0-9]+$ && "$ICON_H" =~ ^[0-9]+$ && "$ICON_X" =~ ^[0-9]+$ && "$ICON_Y" =~ ^[0-9]+$ ]] &&
      [ "$ICON_W" -ge 16 ] && [ "$ICON_H" -ge 16 ] && return 0
  done < <(xwininfo -tree -id "$PANEL" 2>/dev/null | grep '("specswarm-tray" ')
  return 1
}

screenshot() { import -window root "$1" 2>/dev/null; }

# Reads the icon's pixels out of a screenshot: inside the bounding box of the pixels of the
# icon's square colour (green #2e9e44 or grey #808080), the shares of green, grey, red (#d0312d)
# and white. Prints "box=WxH green=G grey=G red=R white=W" (percent of the box).
icon_pixels() {  # icon_pixels PNG green|grey
  convert "$1" -crop "${ICON_W}x${ICON_H}+${ICON_X}+${ICON_Y}" +repage -depth 8 txt:- 2>/dev/null | awk -v face="$2" '
    function near(r, g, b, R, G, B) { return (r-R)^2 < 576 && (g-G)^2 < 576 && (b-B)^2 < 576 }
    NR > 1 {
      split($1, xy, /[,:]/); x = xy[1]; y = xy[2]
      if (!match($0, /\([0-9.]+,[0-9.]+,[0-9.]+/)) next
      split(substr($0, RSTART + 1, RLENGTH - 1), c, ","); r = c[1] + 0; g = c[2] + 0; b = c[3] + 0
      n++; X[n] = x; Y[n] = y
      G[n] = near(r, g, b, 46, 158, 68); E[n] = near(r, g, b, 128, 128, 128)
      R[n] = near(r, g, b, 208, 49, 45); W[n] = (r >= 232 && g >= 232 && b >= 232)
      if ((face == "green" && G[n]) || (face == "grey" && E[n])) {
        if (!seen || x < x0) x0 = x; if (!seen || x > x1) x1 = x
        if (!seen || y < y0) y0 = y; if (!seen || y > y1) y1 = y
        seen = 1
      }
    }
    END {
      if (!seen) { print "box=0x0 green=0 grey=0 red=0 white=0"; exit }
      for (i = 1; i <= n; i++) if (X[i] >= x0 && X[i] <= x1 && Y[i] >= y0 && Y[i] <= y1) {
        area++; ng += G[i]; ne += E[i]; nr += R[i]; nw += W[i]
      }
      printf "box=%dx%d green=%d grey=%d red=%d white=%d\n", x1-x0+1, y1-y0+1, 100*ng/area, 100*ne/area, 100*nr/area, 100*nw/area
    }'
}
# Drawn green with the count in white: a square of at least 12 px, mostly green, some white.
icon_is_green() {  # icon_is_green PNG -> sets SEEN
  screenshot "$1" || return 1
  SEEN=$(icon_pixels "$1" green)
  local box green white grey red
  read -r box green grey red white <<<"$(sed -E 's/[a-z]+=//g' <<<"$SEEN")"
  [ "${box%x*}" -ge 12 ] && [ "${box#*x}" -ge 12 ] && [ "$green" -ge 40 ] && [ "$white" -ge 3 ] && [ "$grey" -eq 0 ] && [ "$red" -eq 0 ]
}
# Not sharing and no swarm: a grey square crossed by a red bar, no white number.
icon_is_grey_crossed() {
  screenshot "$1" || return 1
  SEEN=$(icon_pixels "$1" grey)
  local box green white grey red
  read -r box green grey red white <<<"$(sed -E 's/[a-z]+=//g' <<<"$SEEN")"
  [ "${box%x*}" -ge 12 ] && [ "${box#*x}" -ge 12 ] && [ "$grey" -ge 30 ] && [ "$red" -ge 4 ] && [ "$green" -eq 0 ] && [ "$white" -eq 0 ]
}

# Lines of a log after line number FROM.
lines_after() { tail -n "+$(($2 + 1))" "$1"; }
line_count() { wc -l <"$1"; }

# Opens the menu with a click (button 1 or 3) on the icon's centre and waits for the "menu row:"
# lines that follow (100 ms after the menu shows). Sets ROWS (one "X Y W H TEXT" a line).
ROWS=""
open_menu() {  # open_menu LOG BUTTON
  local log=$1 button=$2 from
  from=$(line_count "$log")
  xdotool mousemove "$((ICON_X + ICON_W / 2))" "$((ICON_Y + ICON_H / 2))" click "$button"
  menu_logged() {
    ROWS=$(lines_after "$log" "$from" | sed -nE 's/^specswarm tray: menu row: (-?[0-9]+),(-?[0-9]+) ([0-9]+)x([0-9]+) (.*)$/\1 \2 \3 \4 \5/p')
    grep -q ' Quit$' <<<"$ROWS"
  }
  wait_for 5 menu_logged
}
# Centre of the row whose text is TEXT: "X Y".
row_centre() { awk -v t="$1" '{ x = $1; y = $2; w = $3; h = $4; $1 = $2 = $3 = $4 = ""; sub(/^ +/, "")
                                 if ($0 == t) { print int(x + w / 2), int(y + h / 2); exit } }' <<<"$ROWS"; }
row_texts() { cut -d' ' -f5- <<<"$ROWS"; }

# Waits for a "view:" line containing TEXT after line FROM of LOG.
wait_view() {  # wait_view LOG FROM TEXT SECONDS
  local log=$1 from=$2 text=$3
  view_seen() { lines_after "$log" "$from" | grep '^specswarm tray: view: ' | grep -qF -- "$text"; }
  wait_for "$4" view_seen
}
last_view() { grep '^specswarm tray: view: ' "$1" | tail -n1 | sed 's/^specswarm tray: view: //'; }

# Waits for PID (a child of this shell) to end within SECONDS; sets EXIT_CODE (or "running").
wait_exit() {
  local pid=$1
  gone() { ! proc_alive "$pid"; }
  if wait_for "$2" gone; then
    wait "$pid"
    EXIT_CODE=$?
  else
    EXIT_CODE=running
  fi
}

# ---------------------------------------------------------------------------------------------
# Case A: a fixed document.
# ---------------------------------------------------------------------------------------------
echo "--- case A: specswarm tray --status three_machines.json"
A_ERR="$TMP/tray-a.err"
"$SPECSWARM" tray --status "$FIXTURES/three_machines.json" -v >"$TMP/tray-a.out" 2>"$A_ERR" &
TRAY_A=$!
PIDS+=("$TRAY_A")

has_protocol() { grep -q '^specswarm tray: protocol: ' "$A_ERR" || ! proc_alive "$TRAY_A"; }
wait_for 10 has_protocol
if ! proc_alive "$TRAY_A"; then
  wait "$TRAY_A"
  fatal "the tray exited (status $?) instead of showing its icon"
fi
grep -q '^specswarm tray: protocol: ' "$A_ERR" || fatal "the tray logged no protocol line within 10 s"
protocol=$(grep '^specswarm tray: protocol: ' "$A_ERR" | head -n1 | sed 's/^specswarm tray: protocol: //')
[ "$protocol" = XEmbed ]
check $? "the tray chose XEmbed (no StatusNotifierWatcher on the private bus)" "protocol: $protocol"

wait_for 10 find_icon "$TRAY_A" || fatal "no specswarm-tray window was embedded in trayer's panel within 10 s"
pass "the icon is embedded in trayer's panel (window ${ICON_W}x${ICON_H} at +$ICON_X+$ICON_Y)"

SEEN=""
wait_for 5 icon_is_green "$SHOTS/tray-xembed.png"
check $? "the embedded icon is drawn green (#2e9e44) with the idle count in white" "$SEEN, tray-xembed.png"

# The menu over an empty screen: the pixels before it opens, to tell it is drawn.
screenshot "$TMP/before-menu.png"
open_menu "$A_ERR" 3
check $? "a right click on the icon opens the menu and the tray logs its rows" "$(wc -l <<<"$ROWS") rows logged"

EXPECTED_A="12 of 24 cores idle on 3 machines · this machine: 2 of 8 busy
ws12 (this machine): 2 busy, 6 idle · serving build-07
ws14: 4 busy, 4 idle · serving build-07
build-07: 6 busy, 2 idle · serving build-07
10.0.0.30: no answer
run from build-07 at 9d2c1a0b3e: running, 65 files done, 12 slots on 3 machines
Share this machine's idle cores
Quit"
if [ "$(row_texts)" = "$EXPECTED_A" ]; then
  pass "the menu's rows are the document's: $(row_texts | head -n2 | tail -n1 | cut -c1-60)... Quit"
else
  fail "the menu's rows differ from the expected ones"
  diff <(echo "$EXPECTED_A") <(row_texts) | sed 's/^/    /'
fi

# The rows lie inside the menu window Qt mapped, one below the other, none off screen.
MENU_GEOM=""
find_menu_window() {
  local id
  for id in $(xdotool search --onlyvisible --classname '^specswarm-tray$' 2>/dev/null); do
    local info
    info=$(xwininfo -id "$id" 2>/dev/null) || continue
    grep -q 'Map State: IsViewable' <<<"$info" || continue
    local x y w h
    x=$(sed -n 's/.*Absolute upper-left X: *//p' <<<"$info")
    y=$(sed -n 's/.*Absolute upper-left Y: *//p' <<<"$info")
    w=$(sed -n 's/^ *Width: *//p' <<<"$info")
    h=$(sed -n 's/^ *Height: *//p' <<<"$info")
    # Not the icon (inside trayer's panel): the menu is the one larger than the icon.
    [ "$x" = "$ICON_X" ] && [ "$y" = "$ICON_Y" ] && continue
    [ "$h" -gt "$ICON_H" ] || continue
    MENU_GEOM="$x $y $w $h"
    return 0
  done
  return 1
}
if wait_for 3 find_menu_window; then
  read -r MX MY MW MH <<<"$MENU_GEOM"
  bad=$(awk -v mx="$MX" -v my="$MY" -v mw="$MW" -v mh="$MH" -v sw="$SCREEN_W" -v sh="$SCREEN_H" '
    { x = $1; y = $2; w = $3; h = $4; $1 = $2 = $3 = $4 = ""
      if (x < mx || y < my || x + w > mx + mw || y + h > my + mh || x < 0 || y < 0 || x + w > sw || y + h > sh || h < 10 || w < 50)
        print "outside:" $0
      if (NR > 1 && y < py + ph) print "overlaps the row above:" $0
      py = y; ph = h }' <<<"$ROWS")
  [ -z "$bad" ]
  check $? "every logged row lies inside the menu window (${MW}x${MH} at +$MX+$MY), in order, on screen" "${bad:-all $(wc -l <<<"$ROWS") rows}"
else
  fail "no menu window of the tray is mapped after the click"
fi

# Visible: the menu's rectangle differs from the screen before it opened, and each row has
# pixels of text (more than one colour).
menu_visible() {
  screenshot "$SHOTS/tray-menu.png" || return 1
  local bx by bw bh
  read -r bx by <<<"$(head -n1 <<<"$ROWS" | cut -d' ' -f1,2)"
  bw=$(head -n1 <<<"$ROWS" | cut -d' ' -f3)
  bh=$(($(tail -n1 <<<"$ROWS" | awk '{print $2 + $4}') - by))
  local crop="${bw}x${bh}+${bx}+${by}" changed total
  convert "$TMP/before-menu.png" -crop "$crop" +repage "$TMP/before-crop.png" &&
    convert "$SHOTS/tray-menu.png" -crop "$crop" +repage "$TMP/menu-crop.png" || return 1
  changed=$(compare -metric AE -fuzz 3% "$TMP/before-crop.png" "$TMP/menu-crop.png" null: 2>&1 | sed -E 's/[^0-9.e+].*//')
  total=$((bw * bh))
  SEEN="$changed of $total pixels changed"
  changed=${changed%.*}
  [[ "$changed" =~ ^[0-9]+$ ]] && [ $((changed * 100)) -ge $((total * 80)) ] || return 1
  local x y w h text colours
  while read -r x y w h text; do
    colours=$(convert "$SHOTS/tray-menu.png" -crop "${w}x${h}+${x}+${y}" +repage -format '%k' info: 2>/dev/null)
    [ "${colours:-0}" -ge 4 ] || { SEEN="$SEEN; row \"$text\" has $colours colours"; return 1; }
  done <<<"$ROWS"
  SEEN="$SEEN; text in every row"
}
SEEN=""
wait_for 3 menu_visible
check $? "the menu is on screen at the logged rows" "$SEEN, tray-menu.png"

read -r QX QY <<<"$(row_centre Quit)"
if [ -n "${QX:-}" ]; then
  xdotool mousemove "$QX" "$QY" click 1
  wait_exit "$TRAY_A" 10
  [ "$EXIT_CODE" = 0 ]
  check $? "clicking Quit at its logged centre ($QX,$QY) ends the tray with status 0 within 10 s" "status $EXIT_CODE"
else
  fail "no Quit row was logged"
fi
if proc_alive "$TRAY_A"; then  # so that case B clicks its own icon, not this one
  kill -TERM "$TRAY_A"
  wait "$TRAY_A"
fi

# ---------------------------------------------------------------------------------------------
# Case B: live, sharing toggled through the menu.
# ---------------------------------------------------------------------------------------------
echo "--- case B: specswarm tray --port P, sharing toggled through the menu"
"$SPECSWARM" key new >"$TMP/key.log" 2>&1 || fatal "specswarm key new failed"
pass "a swarm key in $XDG_CONFIG_HOME ($(sed -n 's/^fingerprint: *//p' "$TMP/key.log"))"

# A loopback port nothing listens on (TCP, v4 or v6).
listening=$(awk 'NR > 1 && $4 == "0A" { n = split($2, a, ":"); print a[n] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
  while read -r hex; do echo $((16#$hex)); done | sort -u)
PORT=""
for _ in $(seq 1 100); do
  candidate=$((20000 + RANDOM % 40000))
  grep -qx "$candidate" <<<"$listening" || { PORT=$candidate; break; }
done
[ -n "$PORT" ] || fatal "no free port found"

JOIN_ARGS=(--port "$PORT" --no-mdns --slots 2)
[ "$(id -u)" -eq 0 ] && JOIN_ARGS=(--allow-root "${JOIN_ARGS[@]}")
B_ERR="$TMP/tray-b.err"
SPECSWARM_TRAY_NO_SYSTEMD=1 "$SPECSWARM" tray -v --port "$PORT" --interval 0.3 -- "${JOIN_ARGS[@]}" \
  >"$TMP/tray-b.out" 2>"$B_ERR" &
TRAY_B=$!
PIDS+=("$TRAY_B")

wait_view "$B_ERR" 0 "no swarm reachable" 15
check $? "with nothing on port $PORT the tray shows no swarm" "view: $(last_view "$B_ERR")"
wait_for 10 find_icon "$TRAY_B" || fatal "the live tray's icon was not embedded in trayer's panel within 10 s"
SEEN=""
wait_for 5 icon_is_grey_crossed "$TMP/share-before.png"
check $? "its icon is grey, crossed in red, without a number" "$SEEN"

# Share: a left click opens the menu (QSystemTrayIcon::Trigger), then the share row.
toggle_share() {  # toggle_share BUTTON: opens the menu, clicks the share row; FROM is set before the click
  open_menu "$B_ERR" "$1" || { fail "a click (button $1) on the icon opened no menu"; return 1; }
  local x y
  read -r x y <<<"$(row_centre "Share this machine's idle cores")"
  [ -n "${x:-}" ] || { fail "no enabled share row in the menu: $(row_texts | tr '\n' '|')"; return 1; }
  FROM=$(line_count "$B_ERR")
  xdotool mousemove "$x" "$y" click 1
  SHARE_AT="$x,$y"
}
status_code() {
  "$SPECSWARM" status --json --timeout 1 --port "$PORT" >"$TMP/status.json" 2>"$TMP/status.err"
  echo $?
}

SHARING_VIEW="2 of 2 cores idle on 1 machine · this machine: 0 of 2 busy"
if toggle_share 1; then
  wait_view "$B_ERR" "$FROM" "$SHARING_VIEW" 15
  check $? "clicking the share row ($SHARE_AT) starts join: the view says so" "view: $(last_view "$B_ERR")"
  code=$(status_code)
  [ "$code" = 0 ]
  check $? "specswarm status --json --port $PORT answers" "exit $code"
  SEEN=""
  wait_for 5 icon_is_green "$SHOTS/tray-share-on.png"
  check $? "the icon turned green with the idle count" "$SEEN, tray-share-on.png"
fi

if toggle_share 3; then
  wait_view "$B_ERR" "$FROM" "this machine: not sharing" 15
  check $? "clicking the share row again stops join: the view says not sharing" "view: $(last_view "$B_ERR")"
  code=$(status_code)
  [ "$code" = 1 ]
  check $? "specswarm status --json --port $PORT finds no node" "exit $code: $(tail -n1 "$TMP/status.err")"
  SEEN=""
  wait_for 5 icon_is_grey_crossed "$SHOTS/tray-share-off.png"
  check $? "the icon is grey and crossed again" "$SEEN, tray-share-off.png"
fi

# Shared once more, so that SIGTERM has a join to stop: nothing the tray started survives it.
if toggle_share 1 && wait_view "$B_ERR" "$FROM" "$SHARING_VIEW" 15; then
  CHILDREN=$(descendants "$TRAY_B" | tr '\n' ' ')
  join_pids=$(for p in $CHILDREN; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q ' join ' && echo "$p"; done | tr '\n' ' ')
  [ -n "$join_pids" ]
  check $? "sharing again: the tray's join runs as its child" "join pid(s) ${join_pids:-none}; descendants: $CHILDREN"
  kill -TERM "$TRAY_B"
  wait_exit "$TRAY_B" 10
  [ "$EXIT_CODE" = 0 ]
  check $? "SIGTERM ends the tray with status 0 within 10 s" "status $EXIT_CODE"
  left=""
  descendants_gone() {
    left=""
    local p
    for p in $CHILDREN; do proc_alive "$p" && left="$left $p"; done
    [ -z "$left" ]
  }
  wait_for 5 descendants_gone
  check $? "no process the tray started remains" "${left:+still running:$left}${left:-$(wc -w <<<"$CHILDREN") descendant(s) all gone}"
  # Nor any started after that snapshot and orphaned since: nothing outside this script and
  # trayer carries the test's environment any more.
  strays=$(strays)
  [ -z "$strays" ]
  check $? "no process with this test's environment is left (trayer aside)" "${strays:-none}"
  code=$(status_code)
  [ "$code" = 1 ]
  check $? "and port $PORT no longer answers" "status exit $code"
else
  fail "sharing a second time did not show in the view: $(last_view "$B_ERR")"
fi

if [ "$FAILURES" -gt 0 ]; then
  fail_with_logs "$A_ERR" "$B_ERR" "$TMP/state/specswarm/join.log" "$TMP/trayer.log"
fi
echo "xembed test: all checks passed"
