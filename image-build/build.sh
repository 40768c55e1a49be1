#!/bin/bash
# image-build/build.sh: the kiosk's Raspberry Pi OS Lite (bookworm, arm64) image, in one command,
# with the Raspberry Pi's own tooling (pi-gen, at a pinned commit, plus our stage-kiosk).
#
#   image-build/build.sh docker         build with pi-gen's build-docker.sh (needs Docker)
#   image-build/build.sh native         build with pi-gen's build.sh on this machine (Debian, root)
#   image-build/build.sh check          can this machine build the image? (exit 0 if so)
#   image-build/build.sh payload DIR    what the stage installs (wheel, install script, units...)
#   image-build/build.sh assemble DIR   the pi-gen tree with our stage and config, not run
#   image-build/build.sh bundle DIR     an update bundle for `kiosk-update install` (arm64 wheels)
#
# Either build runs arm64 programs (apt, dpkg, pip inside the image) and so needs an arm64 machine
# or qemu-aarch64 registered in binfmt_misc; without it the build stops at once, before fetching or
# building anything. The image lands in var/image-build/pi-gen/deploy/.
#
# Settings (environment): FIRST_USER_PASS (required for docker/native: the console maintenance
# account's password, never stored in the repository), FIRST_USER_NAME (technicien),
# IMG_NAME (kiosque-titres), DEPLOY_COMPRESSION (xz), KIOSK_IMAGE_WORK (var/image-build),
# PI_GEN_SRC (a local pi-gen checkout to use instead of cloning; must be at the pinned commit
# unless KIOSK_PI_GEN_UNPINNED=1). See docs/image.md.
set -euo pipefail

# pi-gen's bookworm arm64 release of 2026-06-18 (the tag is a name; the commit is what we trust).
PI_GEN_REPO=https://github.com/RPi-Distro/pi-gen.git
PI_GEN_TAG=2026-06-18-raspios-bookworm-arm64
PI_GEN_COMMIT=d7a31c6aa09f4b867902c51da2b45807c0a1709e

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
WORK=${KIOSK_IMAGE_WORK:-$REPO/var/image-build}
PYTHON=${KIOSK_BUILD_PYTHON:-$REPO/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3

say() { echo "build.sh: $*" >&2; }
die() { say "$*"; exit "${2:-1}"; }

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

# --- can this machine run arm64 programs? -----------------------------------------------------------

can_run_arm64() {
	case "$(uname -m)" in
		aarch64|arm64) return 0 ;;
	esac
	# qemu-user-static registers itself as /proc/sys/fs/binfmt_misc/qemu-aarch64; pi-gen's Docker
	# container uses the host kernel's registration, so the same check holds for both builds.
	local entry
	for entry in /proc/sys/fs/binfmt_misc/qemu-aarch64*; do
		if [ -f "$entry" ] && [ "$(head -n 1 "$entry")" = enabled ]; then
			return 0
		fi
	done
	return 1
}

require_arm64() {
	can_run_arm64 && return 0
	cat >&2 <<EOF
build.sh: this $(uname -m) machine cannot run arm64 programs, and building the image does:
  pi-gen installs Raspberry Pi OS with the image's own apt, dpkg and pip, in an arm64 chroot.
  No binfmt_misc entry for qemu-aarch64 was found (/proc/sys/fs/binfmt_misc/qemu-aarch64).
To build here, register qemu for arm64 (Debian/Ubuntu host, also for the Docker build):
    sudo apt-get install qemu-user-static binfmt-support
    ls /proc/sys/fs/binfmt_misc/qemu-aarch64      # must exist and say "enabled"
or build on an arm64 machine (a Raspberry Pi 5 with Raspberry Pi OS 64-bit builds natively).
A container without binfmt_misc (such as the CI) cannot build the image at all; what CI checks
instead is listed in docs/image.md.
EOF
	exit 3
}

# --- the payload: what the stage installs, and what CI installs into its Debian root ----------------

build_wheel() {
	local out=$1 src
	# Build from a clean copy of the sources (what git tracks, plus new files it does not ignore):
	# setuptools builds in the source tree, and a stale build/ there would put files long deleted
	# from the repository into the wheel.
	src=$(mktemp -d)
	if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
		# (A file deleted but not yet staged is still listed: skip it.)
		(cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done |
			xargs -0 cp --parents -t "$src")
	else
		(cd "$REPO" && tar --exclude=./.venv --exclude=./var --exclude=./build --exclude=./artifacts -cf - .) | tar -xf - -C "$src"
	fi
	"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$out" "$src" >&2
	rm -rf "$src"
	find "$out" -maxdepth 1 -name 'kiosque_titres-*.whl' | sort | tail -n 1
}

cmd_payload() {
	local dest=${1:?"usage: build.sh payload DIR"}
	mkdir -p "$dest"
	rm -f "$dest"/kiosque_titres-*.whl
	build_wheel "$dest" >/dev/null
	install -m 0755 "$HERE/install-kiosk.sh" "$HERE/files/kiosk-update" "$HERE/files/kiosk-datafs" "$dest/"
	install -m 0644 "$HERE/constraints.txt" "$HERE/files/kiosk.toml" "$dest/"
	install -d "$dest/systemd/system.conf.d" "$dest/systemd/journald.conf.d" "$dest/udev" "$dest/docs" \
		"$dest/polkit" "$dest/modprobe.d"
	# The application's units (systemd/, less the central service's: it runs at the centre, not on a kiosk),
	# then the appliance's plumbing (image-build/files/systemd/).
	find "$REPO/systemd" -maxdepth 1 -name '*.service' ! -name 'kiosk-central.service' \
		-exec install -m 0644 -t "$dest/systemd/" {} +
	install -m 0644 "$HERE"/files/systemd/* "$dest/systemd/"
	install -m 0644 "$REPO"/systemd/system.conf.d/*.conf "$dest/systemd/system.conf.d/"
	install -m 0644 "$REPO"/systemd/journald.conf.d/*.conf "$dest/systemd/journald.conf.d/"
	install -m 0644 "$REPO"/systemd/udev/*.rules "$dest/udev/"
	install -m 0644 "$REPO"/systemd/polkit/*.rules "$dest/polkit/"
	install -m 0644 "$REPO"/systemd/modprobe.d/*.conf "$dest/modprobe.d/"
	install -m 0644 "$REPO"/docs/*.md "$dest/docs/"
	say "payload in $dest"
}

# --- pi-gen, pinned ----------------------------------------------------------------------------------

fetch_pi_gen() {
	local dest=$1 head
	if [ -n "${PI_GEN_SRC:-}" ]; then
		rm -rf "$dest"
		cp -a "$PI_GEN_SRC" "$dest"
	elif [ ! -d "$dest/.git" ]; then
		rm -rf "$dest"
		git clone --quiet --depth 1 --branch "$PI_GEN_TAG" "$PI_GEN_REPO" "$dest"
	fi
	head=$(git -C "$dest" rev-parse HEAD 2>/dev/null || echo none)
	if [ "$head" != "$PI_GEN_COMMIT" ]; then
		[ "${KIOSK_PI_GEN_UNPINNED:-0}" = 1 ] ||
			die "pi-gen in $dest is at $head, not the pinned $PI_GEN_COMMIT ($PI_GEN_TAG): delete it or set PI_GEN_SRC to the right checkout"
		say "warning: pi-gen at $head, not the pinned commit (KIOSK_PI_GEN_UNPINNED=1)"
	fi
	# Leftovers of an earlier assembly in a reused checkout.
	rm -rf "$dest/stage-kiosk" "$dest/config"
}

write_config() {
	# pi-gen sources this file (bash): every value is quoted with printf %q.
	local file=$1
	{
		echo "# Written by image-build/build.sh; see docs/image.md."
		printf 'IMG_NAME=%q\n' "${IMG_NAME:-kiosque-titres}"
		printf 'RELEASE=%q\n' bookworm
		# Raspberry Pi OS Lite (stages 0-2), then the kiosk. Paths are relative to pi-gen's directory.
		printf 'STAGE_LIST=%q\n' "stage0 stage1 stage2 stage-kiosk"
		printf 'DEPLOY_COMPRESSION=%q\n' "${DEPLOY_COMPRESSION:-xz}"
		printf 'ENABLE_SSH=%q\n' 0
		printf 'TARGET_HOSTNAME=%q\n' "${TARGET_HOSTNAME:-kiosque}"
		# The console maintenance account (sudo). No first-boot renaming wizard on a kiosk.
		printf 'FIRST_USER_NAME=%q\n' "${FIRST_USER_NAME:-technicien}"
		printf 'FIRST_USER_PASS=%q\n' "${FIRST_USER_PASS:-}"
		printf 'DISABLE_FIRST_BOOT_USER_RENAME=%q\n' 1
		printf 'LOCALE_DEFAULT=%q\n' fr_FR.UTF-8
		printf 'KEYBOARD_KEYMAP=%q\n' fr
		printf 'KEYBOARD_LAYOUT=%q\n' French
		printf 'TIMEZONE_DEFAULT=%q\n' Europe/Paris
		printf 'WPA_COUNTRY=%q\n' FR
	} >"$file"
	chmod 0600 "$file"
}

cmd_assemble() {
	local dest=${1:?"usage: build.sh assemble DIR"}
	fetch_pi_gen "$dest"
	cp -a "$HERE/stage-kiosk" "$dest/stage-kiosk"
	cmd_payload "$dest/stage-kiosk/01-kiosk/files"
	# Only our image: not the plain Lite image stage2 would export as well.
	touch "$dest/stage2/SKIP_IMAGES"
	write_config "$dest/config"
	say "pi-gen tree ready in $dest"
}

# --- an update bundle ------------------------------------------------------------------------------

cmd_bundle() {
	local dest=${1:?"usage: build.sh bundle DIR"} wheel platforms=() minor
	mkdir -p "$dest"
	wheel=$(build_wheel "$dest")
	install -m 0644 "$HERE/constraints.txt" "$dest/constraints.txt"
	platforms=(--platform manylinux2014_aarch64)
	for minor in $(seq 17 36); do
		platforms+=(--platform "manylinux_2_${minor}_aarch64")
	done
	# Every dependency's arm64 wheel, so that the kiosk installs offline (--no-index).
	"$PYTHON" -m pip --isolated download --quiet --dest "$dest" --only-binary=:all: \
		--python-version 3.11 --implementation cp --abi cp311 "${platforms[@]}" \
		--constraint "$dest/constraints.txt" "${wheel}[ui]"
	say "update bundle in $dest: copy it to the kiosk, then: sudo kiosk-update install DIR"
}

# --- the builds --------------------------------------------------------------------------------------

preflight() {
	require_arm64
	[ -n "${FIRST_USER_PASS:-}" ] ||
		die "set FIRST_USER_PASS: the password of the console maintenance account ${FIRST_USER_NAME:-technicien} (kept out of the repository)"
}

cmd_docker() {
	preflight
	command -v docker >/dev/null || die "docker is not installed (or use: build.sh native)"
	docker info >/dev/null 2>&1 || sudo -n docker info >/dev/null 2>&1 ||
		die "cannot reach the Docker daemon (is it running? are you in the docker group?)"
	cmd_assemble "$WORK/pi-gen"
	cd "$WORK/pi-gen"
	# PRESERVE_CONTAINER=0: the next build starts clean (CONTINUE=1 and a kept container resume one).
	./build-docker.sh
	say "image: $(ls "$WORK"/pi-gen/deploy/*.img* 2>/dev/null || echo "none: see $WORK/pi-gen/deploy/build-docker.log")"
}

cmd_native() {
	preflight
	[ "$(id -u)" -eq 0 ] || die "the native build needs root (loop devices, chroot, mounts): sudo -E $0 native"
	cmd_assemble "$WORK/pi-gen"
	cd "$WORK/pi-gen"
	./build.sh
	say "image: $(ls "$WORK"/pi-gen/deploy/*.img* 2>/dev/null || echo "none: see $WORK/pi-gen/work/*/build.log")"
}

cmd_check() {
	require_arm64
	say "this machine can run arm64 programs: the image can be built here"
}

main() {
	local cmd=${1:-}
	[ $# -gt 0 ] && shift
	case "$cmd" in
		docker|native|check|payload|assemble|bundle) "cmd_$cmd" "$@" ;;
		-h|--help) usage ;;
		*) usage >&2; exit 2 ;;
	esac
}

main "$@"
