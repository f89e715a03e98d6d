"""Writes a copy of ml-100k whose timestamps are a seeded random permutation
of 0..rows-1 (all distinct), rows in that order, so that a per-user split in
time order (RecBole `order: TO`, attnlab `order: time`) is one random
per-user split that both tools cut identically: the same train / valid /
test rows on both sides.

The copy is named NAME (OUT_DIR/NAME/NAME.inter, .user, .item), not
ml-100k: RecBole reads the copy inside its package for a data set called
ml-100k, whatever `data_path` says.

Usage: shuffled_times.py SRC_DIR OUT_DIR NAME SEED
  SRC_DIR  folder holding ml-100k/ (RecBole atomic files)
"""

import os
import random
import shutil
import sys


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    name, seed = argv[3], int(argv[4])
    src, out = os.path.join(argv[1], "ml-100k"), os.path.join(argv[2], name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(src, "ml-100k.inter")) as f:
        header, *rows = f.read().splitlines()
    columns = header.split("\t")
    at = columns.index("timestamp:float")
    random.Random(seed).shuffle(rows)
    with open(os.path.join(out, f"{name}.inter"), "w") as f:
        f.write(header + "\n")
        for t, row in enumerate(rows):
            fields = row.split("\t")
            fields[at] = str(t)
            f.write("\t".join(fields) + "\n")
    for suffix in ("user", "item"):
        shutil.copyfile(os.path.join(src, f"ml-100k.{suffix}"), os.path.join(out, f"{name}.{suffix}"))


if __name__ == "__main__":
    main(sys.argv)
