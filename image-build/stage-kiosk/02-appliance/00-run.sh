#!/bin/bash
# Host side: the Pi's boot files (config.txt, cmdline.txt) and the appliance marker.
set -euo pipefail
BOOT="${ROOTFS_DIR}/boot/firmware"

# config.txt ends in an [all] section in Raspberry Pi OS: what follows applies to every model.
if ! grep -q '^# --- kiosk titres ---$' "${BOOT}/config.txt"; then
	cat >>"${BOOT}/config.txt" <<'CONFIG'
# --- kiosk titres ---
[all]
# The fingerprint sensor is on GPIO14/15: give it the PL011 UART, taken from Bluetooth (a kiosk
# has no use for Bluetooth; hciuart.service is disabled with it).
enable_uart=1
dtoverlay=disable-bt
# The Camera Module on CSI, detected at boot (libcamera).
camera_auto_detect=1
[pi5]
# On a Pi 5, GPIO14/15 are UART0, off unless asked for.
dtparam=uart0=on
[all]
CONFIG
fi

# The kernel command line is one line. No serial console: the UART belongs to the sensor, and a
# console there would send boot messages (and a login prompt) into it. No Raspberry Pi first-boot
# script: it grows the root partition over the whole card, where kiosk-datafs puts the data
# partition instead, and it would write to a root that is already read-only (overlay).
sed -i \
	-e 's/ *console=serial0,[0-9]*//g' \
	-e 's/ *console=ttyAMA0,[0-9]*//g' \
	-e 's# *init=/usr/lib/raspberrypi-sys-mods/firstboot##' \
	-e 's/^ *//' \
	"${BOOT}/cmdline.txt"

# kiosk-datafs.service only ever touches a disk on the appliance image.
install -d -m 0755 "${ROOTFS_DIR}/etc/kiosk"
echo "Kiosk titres appliance image (image-build/stage-kiosk)" >"${ROOTFS_DIR}/etc/kiosk/appliance"
