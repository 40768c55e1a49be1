"""kiosk-datafs on a real block device: a loop device over a sparse file laid out like the image
(boot and root partitions, free space after them), as the Pi's card is on first boot.

It must add the data partition over the free space *after* the root, format it once, and never
touch a partition that holds something it did not make. Needs root and loop devices.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import KIOSK_DATAFS, run

MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("losetup", "sfdisk", "partx", "mkfs.ext4", "wipefs")),
    reason="needs root, losetup, sfdisk (Debian's fdisk package), partx, mkfs.ext4 and wipefs")


class Card:
    """A loop device over an image file with the Pi image's layout."""

    def __init__(self, path: Path, size_mib: int):
        self.path = path
        with open(path, "wb") as f:
            f.truncate(size_mib * MiB)
        # As pi-gen lays it out: 8 MiB free at the start, boot (FAT), then root (ext4).
        table = "start=8MiB,size=64MiB,type=c\nstart=72MiB,size=200MiB,type=83\n"
        subprocess.run(["sfdisk", "--quiet", str(path)], input=table, text=True, check=True)
        self.dev = subprocess.run(["losetup", "--show", "--find", "--partscan", str(path)],
                                  capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(["partx", "--add", self.dev], capture_output=True)  # nodes, where nothing else makes them
        self.wait(f"{self.dev}p2")
        subprocess.run(["mkfs.ext4", "-q", "-L", "rootfs", f"{self.dev}p2"], check=True)

    @staticmethod
    def wait(node: str) -> None:
        for _ in range(50):
            if os.path.exists(node):
                return
            time.sleep(0.1)
        raise AssertionError(f"{node} never appeared")

    def partitions(self) -> list[tuple[int, int]]:
        """(start, size) in sectors, from the table on disk."""
        out = subprocess.run(["sfdisk", "--dump", self.dev], capture_output=True, text=True, check=True).stdout
        parts = []
        for line in out.splitlines():
            if line.startswith(self.dev):
                fields = dict(f.split("=") for f in line.split(":", 1)[1].replace(" ", "").split(","))
                parts.append((int(fields["start"]), int(fields["size"])))
        return parts

    def probe(self, key: str) -> str:
        return subprocess.run(["blkid", "-p", "-o", "value", "-s", key, f"{self.dev}p3"],
                              capture_output=True, text=True).stdout.strip()

    def close(self) -> None:
        subprocess.run(["losetup", "--detach", self.dev], check=False)


@pytest.fixture
def card(tmp_path):
    c = Card(tmp_path / "card.img", 1024)
    yield c
    c.close()


def datafs(card: Card) -> subprocess.CompletedProcess:
    return run([KIOSK_DATAFS, "--disk", card.dev], timeout=120)


def test_the_data_partition_takes_the_free_space_after_the_root_and_is_formatted_once(card):
    result = datafs(card)
    assert result.returncode == 0, result.stderr
    (boot, _), (root_start, root_size), (data_start, data_size) = card.partitions()
    assert data_start >= root_start + root_size  # after the root, not in the gap before boot
    assert (data_start + data_size) * 512 == 1024 * MiB  # to the end of the card
    assert card.probe("TYPE") == "ext4" and card.probe("LABEL") == "kioskdata"
    uuid = card.probe("UUID")
    again = datafs(card)  # every boot after the first
    assert again.returncode == 0 and "already the data partition" in again.stderr
    assert card.probe("UUID") == uuid  # not formatted again: the queue is still there


def test_a_power_cut_between_partitioning_and_formatting_is_finished_on_the_next_boot(card):
    start, size = card.partitions()[1]
    subprocess.run(["sfdisk", "--quiet", "--append", "--no-reread", card.dev], input=f"start={start + size},type=83\n",
                   text=True, check=True)
    subprocess.run(["partx", "--add", "--nr", "3", card.dev], capture_output=True)
    result = datafs(card)
    assert result.returncode == 0, result.stderr
    assert card.probe("LABEL") == "kioskdata"


def test_a_third_partition_holding_something_else_is_never_touched(card):
    start, size = card.partitions()[1]
    subprocess.run(["sfdisk", "--quiet", "--append", "--no-reread", card.dev], input=f"start={start + size},type=83\n",
                   text=True, check=True)
    subprocess.run(["partx", "--add", "--nr", "3", card.dev], capture_output=True)
    Card.wait(f"{card.dev}p3")
    subprocess.run(["mkfs.ext4", "-q", "-L", "precious", f"{card.dev}p3"], check=True)
    uuid = card.probe("UUID")
    result = datafs(card)
    assert result.returncode == 1 and "not touching it" in result.stderr
    assert card.probe("UUID") == uuid and card.probe("LABEL") == "precious"


def test_a_card_too_small_for_a_data_partition_is_refused(tmp_path):
    small = Card(tmp_path / "small.img", 400)  # 272 MiB used, 128 MiB left
    try:
        result = datafs(small)
        assert result.returncode == 1 and "larger card" in result.stderr
        assert len(small.partitions()) == 2
    finally:
        small.close()
