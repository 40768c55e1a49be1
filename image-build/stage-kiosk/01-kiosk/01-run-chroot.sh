#!/bin/bash
# Inside the image (pi-gen feeds this file to bash in the arm64 chroot): the same install step the
# CI runs in its Debian root. The release's dependencies come from PyPI, pinned by constraints.txt.
set -euo pipefail
shopt -s nullglob
wheels=(/tmp/kiosk-install/kiosque_titres-*.whl)
[ "${#wheels[@]}" -eq 1 ] || { echo "expected one kiosk wheel in /tmp/kiosk-install, found ${#wheels[@]}" >&2; exit 1; }
/tmp/kiosk-install/install-kiosk.sh "${wheels[0]}"
rm -rf /tmp/kiosk-install
