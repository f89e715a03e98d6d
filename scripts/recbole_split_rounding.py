"""Prints how RecBole 1.2.1 splits a user's N interactions by ratio (RS
8:1:1, the BPR protocol), for N = 1..100, as JSON: the fixture
crates/attnlab-data/tests/fixtures/recbole_split_sizes.json that
`ratio_split_per_user_follows_recbole_rounding` checks attnlab against.

RecBole's own code runs: `Dataset._calcu_split_ids` is read from the wheel's
recbole/data/dataset/dataset.py and executed as it is (numpy only, so the
whole of RecBole need not be installed); `split_by_ratio` normalises the
ratios first, which this script does the same way.

Usage: recbole_split_rounding.py WHEEL > recbole_split_sizes.json
  WHEEL  recbole-1.2.1-py3-none-any.whl
         (python3 -m pip download --no-deps recbole==1.2.1)
"""

import ast
import json
import sys
import zipfile

import numpy as np

RATIOS = [0.8, 0.1, 0.1]


def calcu_split_ids(wheel):
    source = zipfile.ZipFile(wheel).read("recbole/data/dataset/dataset.py").decode()
    dataset = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "Dataset")
    method = next(n for n in dataset.body if isinstance(n, ast.FunctionDef) and n.name == "_calcu_split_ids")
    scope = {"np": np}
    exec(compile(ast.Module(body=[method], type_ignores=[]), "dataset.py", "exec"), scope)
    return scope["_calcu_split_ids"]


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    split_ids = calcu_split_ids(argv[1])
    ratios = [r / sum(RATIOS) for r in RATIOS]
    sizes = {}
    for n in range(1, 101):
        bounds = [0] + [int(b) for b in split_ids(None, tot=n, ratios=ratios)] + [n]
        sizes[str(n)] = [b - a for a, b in zip(bounds, bounds[1:])]
    print(json.dumps({"recbole": "1.2.1", "ratios": RATIOS, "sizes": sizes}))


if __name__ == "__main__":
    main(sys.argv)
