#!/bin/bash
# Inside the image: the read-only root, the data partition, services a kiosk must not run.
set -euo pipefail

# The root filesystem read-only under a RAM overlay (overlayroot=tmpfs on the kernel command line;
# the initramfs that applies it is built by pi-gen's export stage). Writes that must last go to /data.
raspi-config nonint enable_overlayfs
grep -q 'overlayroot=tmpfs' /boot/firmware/cmdline.txt || { echo "enable_overlayfs did not set overlayroot" >&2; exit 1; }

# The data partition (made on first boot by kiosk-datafs, which data.mount pulls in).
systemctl enable data.mount

# SSH stays off (ENABLE_SSH=0 already; a technician enables it on purpose, see docs/image.md).
systemctl disable ssh.service
# Bluetooth gave its UART to the fingerprint sensor (dtoverlay=disable-bt).
if systemctl cat hciuart.service >/dev/null 2>&1; then
	systemctl disable hciuart.service
fi
# A swap file on a RAM overlay is RAM pretending to be disk; apt's daily jobs would download into
# RAM and change nothing that survives a reboot (updates go through kiosk-update).
for unit in dphys-swapfile.service apt-daily.timer apt-daily-upgrade.timer man-db.timer; do
	if systemctl cat "$unit" >/dev/null 2>&1; then
		systemctl disable "$unit"
	fi
done
