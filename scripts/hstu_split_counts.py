"""Counts what the HSTU reference (github.com/meta-recsys/generative-recommenders,
generative_recommenders/research/data/preprocessor.py and reco_dataset.py)
makes of a MovieLens ratings table, to compare with attnlab's leave-one-out
(`attnlab data stats experiments/ml1m-hstu.yaml dataset.path=DIR`).

The reference sorts all ratings by timestamp (pandas' default sort, which
does not keep the file order of ties), groups them by user, and builds one
training sequence per user without its last item (`ignore_last_n=1`) and one
evaluation row per user whose target is the last item, after all the items
before it. It has no validation split: attnlab's leave-one-out holds out
the second-to-last item for validation, so its train rows are the
reference's training items minus one per user, and its test rows are the
reference's evaluation rows (same target, same history up to a tie).

Usage: hstu_split_counts.py FILE
  FILE  a RecBole atomic .inter (user_id, item_id, timestamp columns) or
        MovieLens ratings.dat (user::movie::rating::timestamp)
Prints JSON: users, items, ratings, the reference's training sequences,
training items and evaluation rows, the counts attnlab's leave-one-out must
show for them, and the users whose last two ratings share a timestamp
(their test target depends on how ties are ordered).
"""

import json
import sys

import pandas as pd


def load(path):
    if path.endswith(".dat"):
        return pd.read_csv(path, sep="::", engine="python", names=["user_id", "item_id", "rating", "timestamp"])
    table = pd.read_csv(path, sep="\t")
    table.columns = [c.split(":")[0] for c in table.columns]
    return table[["user_id", "item_id", "timestamp"]]


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    ratings = load(argv[1])
    groups = ratings.sort_values(by=["timestamp"]).groupby("user_id")
    items = groups.item_id.apply(list)
    times = groups.timestamp.apply(list)
    lengths = items.apply(len)
    train_items = int((lengths - 1).sum())
    tied_last = int(sum(1 for t in times if len(t) >= 2 and t[-1] == t[-2]))
    users = int(len(items))
    print(json.dumps({
        "users": users,
        "items": int(ratings.item_id.nunique()),
        "ratings": int(len(ratings)),
        "reference": {"train_sequences": int((lengths >= 2).sum()), "train_items": train_items, "eval_rows": users},
        "attnlab_leave_one_out_expected": {"train": train_items - users, "valid": users, "test": users},
        "users_with_tied_last_two": tied_last,
    }, indent=2))


if __name__ == "__main__":
    main(sys.argv)
