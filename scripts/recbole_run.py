"""Trains and tests one RecBole 1.2.1 model on ml-100k under the settings
attnlab's specs use, and writes what the bench table needs as JSON.

Usage: recbole_run.py MODEL EPOCHS PATIENCE DATA_DIR OUT.json [KEY=VALUE ...]
  MODEL     BPR, GRU4Rec or SASRec
  EPOCHS    most training epochs; PATIENCE: RecBole's stopping_step
  DATA_DIR  folder holding ml-100k/ (RecBole atomic files, the copy attnlab uses)
  KEY=VALUE RecBole settings over the ones below, VALUE read as JSON when it
            parses (train_batch_size=2048), as text otherwise; dataset=NAME
            reads DATA_DIR/NAME/NAME.inter instead of ml-100k (RecBole
            reads its own packaged copy for a data set named ml-100k)
  Torch threads: BENCH_THREADS when set (the bench gives both sides the same).

The hyper-parameters mirror experiments/ml100k-bpr.yaml and
experiments/ml100k-sequential.yaml; scripts/bench-recbole.sh passes the same
epochs and patience to both sides. Time is measured around RecBole's own
training epochs (training + the validation pass after each), so it excludes
dataset loading, as attnlab's `train.seconds` does.
"""

import json
import os
import sys
import time

# RecBole reloads its own pickled checkpoint, which torch >= 2.6 refuses by default.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

COMMON = {
    "seed": 2020,
    "reproducibility": True,
    "use_gpu": False,
    "show_progress": False,
    "state": "WARNING",
    "metrics": ["Recall", "MRR", "NDCG", "Hit"],
    "topk": [10],
    "eval_step": 1,
    "log_wandb": False,
}

# General recommendation (RecBole's defaults, which experiments/ml100k-bpr.yaml follows):
# per-user random 8:1:1, full ranking, a user's training items excluded.
GENERAL = {
    "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "group_by": "user", "order": "RO", "mode": "full"},
    "repeatable": False,
    "valid_metric": "MRR@10",
    "learning_rate": 0.001,
    "train_batch_size": 2048,
}

# Sequential (experiments/ml100k-sequential.yaml): leave-one-out by time, full
# ranking over every item, CE loss over the catalogue, max length 50.
SEQUENTIAL = {
    "eval_args": {"split": {"LS": "valid_and_test"}, "group_by": "user", "order": "TO", "mode": "full"},
    "repeatable": True,
    "MAX_ITEM_LIST_LENGTH": 50,
    "loss_type": "CE",
    "train_neg_sample_args": None,
    "valid_metric": "NDCG@10",
    "learning_rate": 0.002,
    "train_batch_size": 128,
}

MODELS = {
    "BPR": {**GENERAL, "embedding_size": 64},
    "GRU4Rec": {**SEQUENTIAL, "embedding_size": 64, "hidden_size": 64, "num_layers": 1, "dropout_prob": 0.3},
    "SASRec": {
        **SEQUENTIAL,
        "hidden_size": 64,
        "inner_size": 256,
        "n_layers": 2,
        "n_heads": 2,
        "hidden_dropout_prob": 0.2,
        "attn_dropout_prob": 0.2,
    },
}


def parse_setting(arg):
    key, value = arg.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv):
    if len(argv) < 6 or argv[1] not in MODELS or any("=" not in a for a in argv[6:]):
        sys.exit(__doc__)
    model_name, epochs, patience, data_dir, out_path = argv[1], int(argv[2]), int(argv[3]), argv[4], argv[5]
    overrides = dict(parse_setting(a) for a in argv[6:])
    sys.argv = sys.argv[:1]  # RecBole parses the command line itself
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    config_dict = {
        **COMMON,
        **MODELS[model_name],
        "epochs": epochs,
        "stopping_step": patience,
        "data_path": data_dir,
        "checkpoint_dir": os.path.join(os.path.dirname(os.path.abspath(out_path)), "recbole-saved"),
        **overrides,
    }
    if os.environ.get("BENCH_THREADS"):
        import torch

        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
    dataset_name = config_dict.pop("dataset", "ml-100k")
    config = Config(model=model_name, dataset=dataset_name, config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)

    # Count the epochs actually trained (early stopping may end before EPOCHS).
    epochs_run = [0]
    train_epoch = trainer._train_epoch

    def counted(*args, **kwargs):
        epochs_run[0] += 1
        return train_epoch(*args, **kwargs)

    trainer._train_epoch = counted

    started = time.time()
    trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    fit_seconds = time.time() - started
    test = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
    total_seconds = time.time() - started

    result = {
        "model": model_name,
        "epochs": epochs_run[0],
        "train_seconds": fit_seconds,
        "total_seconds": total_seconds,
        "test": {k.lower(): float(v) for k, v in test.items()},
        "settings": overrides,
        "rows": {name: len(data._dataset) for name, data in (("train", train_data), ("valid", valid_data), ("test", test_data))},
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
