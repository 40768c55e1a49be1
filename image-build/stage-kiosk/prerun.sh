#!/bin/bash
# pi-gen runs this first: the stage starts from a copy of stage2's root (Raspberry Pi OS Lite).
set -euo pipefail
if [ ! -d "${ROOTFS_DIR}" ]; then
	copy_previous
fi
