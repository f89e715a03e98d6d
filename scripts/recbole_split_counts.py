"""Prints the split sizes RecBole 1.2.1 itself gives on ml-100k under the two
protocols attnlab reproduces, as JSON: the figures that
crates/attnlab-data/tests/protocol.rs (`ml100k_matches_recbole`) checks
attnlab's own splits against.

Usage: recbole_split_counts.py DATA_DIR
  DATA_DIR  folder holding ml-100k/ (RecBole atomic files, the copy attnlab
            fetches with `attnlab data fetch ml-100k`)
Run it with RecBole's venv (scripts/bench-recbole.sh creates .venv-recbole):
  .venv-recbole/bin/python scripts/recbole_split_counts.py data

Output, one object per protocol:
  general (BPR: per-user random 8:1:1): train / valid / test interactions;
  sequential (SASRec: leave-one-out by time): valid / test rows, the
  training interactions before augmentation, and the training samples
  RecBole builds from them (one per prefix of each user's train sequence).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recbole_run import COMMON, MODELS  # noqa: E402  (the same settings as the bench)


def built(model_name, data_dir):
    from recbole.config import Config
    from recbole.data import create_dataset
    from recbole.utils import init_seed

    config = Config(model=model_name, dataset="ml-100k", config_dict={**COMMON, **MODELS[model_name], "data_path": data_dir})
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    return dataset, dataset.build()


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    data_dir = argv[1]
    sys.argv = sys.argv[:1]  # RecBole parses the command line itself

    dataset, (train, valid, test) = built("BPR", data_dir)
    general = {"interactions": len(dataset), "train": len(train), "valid": len(valid), "test": len(test)}

    dataset, (train, valid, test) = built("SASRec", data_dir)
    sequential = {
        "interactions": len(dataset),
        "valid": len(valid),
        "test": len(test),
        "train_interactions": len(dataset) - len(valid) - len(test),
        "train_samples": len(train),
    }
    print(json.dumps({"general": general, "sequential": sequential}, indent=2))


if __name__ == "__main__":
    main(sys.argv)
