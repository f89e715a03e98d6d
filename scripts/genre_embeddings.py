"""Item vectors for ml-100k made from its item file alone, standing in for
the output of a text or image encoder: each movie's genres (multi-hot) and
release decade (one-hot), mixed by a fixed random Gaussian projection to
DIM dimensions. Writes `ITEM_ID,v1,...,vDIM` lines (the CSV form of
`dataset.item_embeddings`), or with `--npy` an `.npy` matrix plus a
`.keys` file of ids, one a line in the matrix's row order.

    python scripts/genre_embeddings.py data/ml-100k/ml-100k.item out.csv
"""
import sys

import numpy as np

DIM = 32


def main(item_file: str, out: str, npy: bool) -> None:
    with open(item_file, encoding="utf-8", errors="replace") as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    col = {name.split(":")[0]: k for k, name in enumerate(header)}
    genres = sorted({g for r in rows for g in r[col["class"]].split()})
    decades = sorted({(r[col["release_year"]] or "0")[:3] for r in rows})
    x = np.zeros((len(rows), len(genres) + len(decades)), dtype=np.float32)
    for i, r in enumerate(rows):
        for g in r[col["class"]].split():
            x[i, genres.index(g)] = 1.0
        x[i, len(genres) + decades.index((r[col["release_year"]] or "0")[:3])] = 1.0
    projection = np.random.default_rng(0).standard_normal((x.shape[1], DIM)).astype(np.float32)
    vectors = x @ projection / np.sqrt(x.shape[1])
    ids = [r[col["item_id"]] for r in rows]
    if npy:
        np.save(out, vectors)
        with open(out.removesuffix(".npy") + ".keys", "w") as f:
            f.write("\n".join(ids) + "\n")
    else:
        with open(out, "w") as f:
            for item, v in zip(ids, vectors):
                f.write(item + "," + ",".join(f"{a:.6f}" for a in v) + "\n")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--npy"]
    main(args[0], args[1], "--npy" in sys.argv)
