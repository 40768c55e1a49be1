#!/bin/bash
# Host side: put the payload build.sh assembled in files/ (wheel, constraints, install-kiosk.sh,
# units, udev rules, configuration) where the chroot script finds it.
set -euo pipefail
install -d -m 0755 "${ROOTFS_DIR}/tmp/kiosk-install"
cp -a files/. "${ROOTFS_DIR}/tmp/kiosk-install/"
