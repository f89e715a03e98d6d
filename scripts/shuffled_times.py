"""Writes a copy of ml-100k whose timestamps are a seeded random permutation
of 0..rows-1 (all distinct), so that a per-user split in time order (RecBole
`order: TO`, attnlab `order: time`) is one random per-user split that both
tools cut identically: the same train / valid / test rows on both sides.

Usage: shuffled_times.py SRC_DIR OUT_DIR SEED
  SRC_DIR  folder holding ml-100k/ (RecBole atomic files)
  OUT_DIR  gets ml-100k/ with the rewritten .inter and the .user/.item copied
"""

import os
import random
import shutil
import sys


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    src, out, seed = os.path.join(argv[1], "ml-100k"), os.path.join(argv[2], "ml-100k"), int(argv[3])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(src, "ml-100k.inter")) as f:
        header, *rows = f.read().splitlines()
    columns = header.split("\t")
    at = columns.index("timestamp:float")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    with open(os.path.join(out, "ml-100k.inter"), "w") as f:
        f.write(header + "\n")
        for row, t in zip(rows, order):
            fields = row.split("\t")
            fields[at] = str(t)
            f.write("\t".join(fields) + "\n")
    for name in ("ml-100k.user", "ml-100k.item"):
        shutil.copyfile(os.path.join(src, name), os.path.join(out, name))


if __name__ == "__main__":
    main(sys.argv)
