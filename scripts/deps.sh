#!/usr/bin/env bash
# Installs the Debian packages a target needs, or says in one line which ones to install.
#   scripts/deps.sh build|test|bench|fuzz|package
# As root it runs apt-get; otherwise it prints the apt-get line and exits 1.
set -euo pipefail

build=(cmake g++ make pkg-config git libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libgit2-dev
       libavahi-client-dev libavahi-compat-libdnssd-dev libcli11-dev nlohmann-json3-dev
       libyaml-cpp-dev libspdlog-dev libsodium-dev ruby ruby-rspec)
# The tray (specswarm-tray) is built when Qt 6 is there; `make demo` does without it.
tray=(qt6-base-dev)
test=(catch2 libpugixml-dev avahi-daemon avahi-utils dbus iproute2 procps "${tray[@]}"
      xvfb xauth trayer xdotool x11-apps x11-utils imagemagick python3-gi gir1.2-glib-2.0 fonts-dejavu-core
      dbus-session-bus-common)
bench=(ruby-parallel-tests ruby-rails ruby-rspec-rails ruby-sqlite3 hyperfine python3)
fuzz=(clang libfuzzer-14-dev)  # make fuzz: clang's libFuzzer, ASan and UBSan
package=(dpkg-dev file help2man "${tray[@]}")  # make package: dependencies found by dpkg-shlibdeps, the man page

want=("${build[@]}")
case "${1:-build}" in
  build) ;;
  test)  want+=("${test[@]}") ;;
  bench) want+=("${test[@]}" "${bench[@]}") ;;
  fuzz)  want+=("${fuzz[@]}") ;;
  package) want+=("${package[@]}") ;;
  *) echo "usage: scripts/deps.sh build|test|bench|fuzz|package" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "specswarm needs these Debian packages: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=/tmp/specswarm-apt.log
: >"$log"
fail() {
  tail -n 20 "$log" >&2
  echo "specswarm: apt-get could not install: ${missing[*]} (log: $log)" >&2
  exit 1
}
update() {
  echo "Refreshing the package lists (apt-get update)"
  apt-get update -q >>"$log" 2>&1 || fail
}
install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; }
# A fresh machine (a new container, a debootstrap root) has empty package lists: refresh them
# first. Lists that are merely old fail the install (a version gone from the mirror): refresh
# them then and try once more, after finishing any install an earlier run left half done.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  update
fi
install || {
  dpkg --configure -a >>"$log" 2>&1 || true
  update
  install || fail
}
