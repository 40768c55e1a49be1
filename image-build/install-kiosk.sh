#!/bin/bash
# install-kiosk.sh: install the kiosk on a Debian / Raspberry Pi OS root. The one install step, run
#   - by the pi-gen stage, inside the arm64 image being built (stage-kiosk/01-kiosk/01-run-chroot.sh),
#   - by CI, inside an amd64 Debian root made with debootstrap (tests/image/test_install_chroot.py),
#   - by kiosk-update on a kiosk, with --release-only, for each new release.
#
#   install-kiosk.sh [options] WHEEL
#     --release-only        only build the release's virtual environment (no user, units, links)
#     --releases-dir DIR    where releases go (default /opt/kiosk/releases: the image's factory one)
#     --constraints FILE    pinned versions of every dependency (default: constraints.txt beside this)
#     --find-links DIR      install offline from the wheels in DIR (an update bundle)
#
# It expects the payload that `image-build/build.sh payload DIR` writes beside it: the wheel,
# constraints.txt, systemd/ (units and drop-ins), udev/, polkit/, modprobe.d/, kiosk-update, kiosk-datafs, kiosk.toml,
# docs/. The Debian packages it relies on are in stage-kiosk/00-kiosk-packages/00-packages-nr.
#
# A release is /opt/kiosk/releases/<version>/venv, built with --system-site-packages so that
# Debian's python3-picamera2 (and its libcamera bindings) are importable, yet with every Python
# dependency installed inside it at the pinned version (--ignore-installed): what runs does not
# depend on which Python packages Debian happens to ship. `.complete` is written last, once the
# release has been checked: kiosk-update never switches to a release without it.
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${KIOSK_PYTHON:-/usr/bin/python3}
KIOSK_USER=kiosk
# video: camera (V4L2, media, DMA heaps); input: touchscreen; render: GPU; dialout: the fingerprint
# sensor's UART; gpio: status light and call button; audio: the voice (ALSA). See systemd/udev/99-kiosk-devices.rules.
KIOSK_GROUPS=(video input render dialout gpio audio)
UPDATE_ROOT=/data

release_only=0
releases_dir=/opt/kiosk/releases
constraints="$HERE/constraints.txt"
find_links=""

say() { echo "install-kiosk: $*" >&2; }
die() { say "$*"; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
		--release-only) release_only=1; shift ;;
		--releases-dir) releases_dir=${2:?}; shift 2 ;;
		--constraints) constraints=${2:?}; shift 2 ;;
		--find-links) find_links=${2:?}; shift 2 ;;
		-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		-*) die "unknown option $1" ;;
		*) break ;;
	esac
done
[ $# -eq 1 ] || die "usage: install-kiosk.sh [options] WHEEL"
wheel=$(readlink -f "$1")
[ -f "$wheel" ] || die "no wheel at $1"
[ -f "$constraints" ] || die "no constraints file at $constraints"
# kiosque_titres-0.1.0-py3-none-any.whl -> 0.1.0
version=$(basename "$wheel" | cut -d- -f2)
[[ "$version" =~ ^[0-9][0-9A-Za-z.+!]*$ ]] || die "cannot read a version from $(basename "$wheel")"

install_release() {
	local dest="$releases_dir/$version" cache pip_source=()
	if [ -f "$dest/.complete" ]; then
		say "release $version is already installed in $dest"
		return 0
	fi
	# Debris of an interrupted installation: start again from nothing.
	rm -rf "$dest"
	mkdir -p "$dest"
	say "creating the virtual environment of $version in $dest/venv"
	"$PYTHON" -m venv --system-site-packages "$dest/venv"
	if [ -n "$find_links" ]; then
		pip_source=(--no-index --find-links "$find_links")
	fi
	# A throwaway cache: nothing of pip's is left in the image or on the data partition.
	cache=$(mktemp -d)
	# shellcheck disable=SC2064  # expand now: the variable is local
	trap "rm -rf '$cache'" EXIT
	"$dest/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
		--cache-dir "$cache" --ignore-installed "${pip_source[@]}" \
		--constraint "$constraints" "${wheel}[ui]"
	rm -rf "$cache"
	trap - EXIT
	# The release must at least start and know its own version before anyone switches to it.
	local reported
	reported=$("$dest/venv/bin/kiosk" --version) || die "the new release's kiosk command does not run"
	[ "$reported" = "$version" ] || die "the new release reports version $reported, not $version"
	{
		echo "version=$version"
		echo "wheel=$(basename "$wheel") sha256=$(sha256sum "$wheel" | cut -d' ' -f1)"
		echo "constraints_sha256=$(sha256sum "$constraints" | cut -d' ' -f1)"
		echo "python=$("$dest/venv/bin/python" --version 2>&1)"
		echo "installed=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$dest/RELEASE"
	sync -f "$dest/RELEASE"
	# Last, and durably: the mark kiosk-update trusts.
	touch "$dest/.complete"
	sync "$dest/.complete" "$dest"
	say "release $version installed"
}

if [ "$release_only" = 1 ]; then
	install_release
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "run as root (it creates a user and installs system units)"

# --- the kiosk user --------------------------------------------------------------------------------
for group in "${KIOSK_GROUPS[@]}"; do
	# Raspberry Pi OS has them all; a plain Debian root lacks gpio (and maybe render, input).
	getent group "$group" >/dev/null || groupadd --system "$group"
done
if ! id "$KIOSK_USER" >/dev/null 2>&1; then
	useradd --system --user-group --home-dir /var/lib/kiosk --no-create-home \
		--shell /usr/sbin/nologin --comment "Kiosk titres" "$KIOSK_USER"
fi
usermod --append --groups "$(IFS=,; echo "${KIOSK_GROUPS[*]}")" "$KIOSK_USER"

# --- the factory release and the links the units use ----------------------------------------------
install_release
install -d -m 0755 /opt/kiosk "$UPDATE_ROOT"
# Relative, so the link means the same when the image is mounted elsewhere.
ln -sfn "releases/$version" /opt/kiosk/factory
# The units run /opt/kiosk/venv/bin/kiosk: whichever release kiosk-update made current.
ln -sfn "$UPDATE_ROOT/current/venv" /opt/kiosk/venv
# The queue and keys live on the writable partition too.
if [ -d /var/lib/kiosk ] && [ ! -L /var/lib/kiosk ]; then
	rmdir /var/lib/kiosk 2>/dev/null || die "/var/lib/kiosk is a directory with data in it: move it to $UPDATE_ROOT/kiosk first"
fi
ln -sfn "$UPDATE_ROOT/kiosk" /var/lib/kiosk

# --- tools, configuration, units --------------------------------------------------------------------
install -m 0755 "$HERE/kiosk-update" /usr/sbin/kiosk-update
install -d -m 0755 /usr/lib/kiosk
install -m 0755 "$HERE/install-kiosk.sh" "$HERE/kiosk-datafs" /usr/lib/kiosk/
install -d -m 0755 /etc/kiosk
# A configuration already in place is the site's: never overwrite it.
[ -e /etc/kiosk/kiosk.toml ] || install -m 0644 "$HERE/kiosk.toml" /etc/kiosk/kiosk.toml
if [ -d "$HERE/docs" ]; then
	install -d -m 0755 /opt/kiosk/docs
	install -m 0644 "$HERE"/docs/*.md /opt/kiosk/docs/
fi
install -m 0644 "$HERE"/systemd/*.service "$HERE"/systemd/*.mount /etc/systemd/system/
install -d -m 0755 /etc/systemd/system.conf.d /etc/systemd/journald.conf.d /etc/udev/rules.d
install -m 0644 "$HERE"/systemd/system.conf.d/*.conf /etc/systemd/system.conf.d/
install -m 0644 "$HERE"/systemd/journald.conf.d/*.conf /etc/systemd/journald.conf.d/
install -m 0644 "$HERE"/udev/*.rules /etc/udev/rules.d/
# The maintenance screen may restart the kiosk's own two services (polkitd reads this rule), and
# usblp must not take the printer away from libusb.
install -d -m 0755 /etc/polkit-1/rules.d /etc/modprobe.d
install -m 0644 "$HERE"/polkit/*.rules /etc/polkit-1/rules.d/
install -m 0644 "$HERE"/modprobe.d/*.conf /etc/modprobe.d/
# Offline enabling works in a chroot and in the image being built: it only writes symlinks.
systemctl enable kiosk-update-recover.service kiosk-ui.service kiosk-sync.service kiosk-firstboot.service

# --- the writable side: release links and the data directory ---------------------------------------
KIOSK_UPDATE_ROOT="$UPDATE_ROOT" KIOSK_FACTORY=/opt/kiosk/factory /usr/sbin/kiosk-update recover --no-restart
say "kiosk $version installed; it starts at the next boot"
