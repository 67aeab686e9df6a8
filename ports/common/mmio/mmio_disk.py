#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Disk image of the virtio-mmio block test (ports/armv8/tests/mmio_blk.c).

  mmio_disk.py make IMG    write a fresh 1 MiB raw image: every sector holds its known pattern
  mmio_disk.py check IMG   after the test: sector WRITTEN_SECTOR holds the written pattern and
                           every other sector still holds its own

The patterns must match mmio_blk.c: sector s starts with s as a little-endian 32-bit value and
the bytes "XCVB", then byte j (8 <= j < 512) is (s * 37 + j * 11) mod 256. The test writes
byte j = (j * 3 + 0x5a) mod 256 into WRITTEN_SECTOR.
"""
import sys

SECTOR = 512
SECTORS = 2048
WRITTEN_SECTOR = 1000


def pattern(s):
    head = s.to_bytes(4, "little") + b"XCVB"
    return head + bytes((s * 37 + j * 11) & 0xFF for j in range(8, SECTOR))


def written():
    return bytes((j * 3 + 0x5A) & 0xFF for j in range(SECTOR))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[2]
    if sys.argv[1] == "make":
        with open(path, "wb") as f:
            for s in range(SECTORS):
                f.write(pattern(s))
        return 0
    with open(path, "rb") as f:
        data = f.read()
    if len(data) != SECTOR * SECTORS:
        print(f"{path}: {len(data)} bytes, expected {SECTOR * SECTORS}", file=sys.stderr)
        return 1
    bad = 0
    for s in range(SECTORS):
        want = written() if s == WRITTEN_SECTOR else pattern(s)
        if data[s * SECTOR:(s + 1) * SECTOR] != want:
            print(f"{path}: sector {s} does not hold the expected bytes", file=sys.stderr)
            bad += 1
    print(f"{path}: {SECTORS - bad}/{SECTORS} sectors as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
