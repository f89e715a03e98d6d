"""RecBole 1.2.1's side of scripts/bench-scale.sh: BPR on one synthetic
RecBole atomic file, under experiments/synthetic-bpr.yaml's protocol
(per-user random 8:1:1, full ranking, a user's training items excluded,
batch 4096, Adam at 0.001, embedding 64, seed 2020), in stages:

  prepare   create_dataset + data_preparation
  epoch     one training epoch
  eval      full-ranking evaluation of the valid and the test split

Usage: recbole_scale.py DATA_DIR NAME SIZE OUT.tsv
  reads DATA_DIR/NAME/NAME.inter; appends
  "recbole-STAGE<TAB>SIZE<TAB>SECONDS<TAB>PEAK_KB" lines to OUT.tsv (the
  table of bench-scale.sh) as each stage ends (PEAK_KB: the process's peak RSS so
  far, so a stage that dies leaves the ones before it).
  Torch threads: BENCH_THREADS when set.
"""

import os
import resource
import sys
import time

# RecBole reloads its own pickled checkpoint, which torch >= 2.6 refuses by default.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    data_dir, name, size, out_path = argv[1], argv[2], argv[3], argv[4]
    sys.argv = sys.argv[:1]  # RecBole parses the command line itself
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    if os.environ.get("BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
    config = Config(
        model="BPR",
        dataset=name,
        config_dict={
            "data_path": data_dir,
            "seed": 2020,
            "reproducibility": True,
            "use_gpu": False,
            "show_progress": False,
            "state": "WARNING",
            "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "group_by": "user", "order": "RO", "mode": "full"},
            "repeatable": False,
            "metrics": ["Recall", "MRR", "NDCG", "Hit", "Precision"],
            "topk": [10],
            "valid_metric": "MRR@10",
            "learning_rate": 0.001,
            "train_batch_size": 4096,
            "eval_batch_size": 4096,
            "embedding_size": 64,
            "epochs": 1,
            "checkpoint_dir": os.path.join(os.path.dirname(os.path.abspath(out_path)), "recbole-saved"),
            "log_wandb": False,
        },
    )

    def record(stage, started):
        seconds = time.time() - started
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with open(out_path, "a") as f:
            f.write(f"recbole-{stage}\t{size}\t{seconds:.1f}\t{peak_kb}\n")
        print(f"recbole {stage}: {seconds:.1f} s, peak {peak_kb / 1024:.0f} MB", flush=True)

    started = time.time()
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    record("prepare", started)

    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    started = time.time()
    trainer._train_epoch(train_data, 0, show_progress=False)
    record("epoch", started)

    started = time.time()
    valid = trainer.evaluate(valid_data, load_best_model=False, show_progress=False)
    test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    record("eval", started)
    print("valid", dict(valid), "test", dict(test), flush=True)


if __name__ == "__main__":
    main(sys.argv)
