"""The inputs training/mnist.py checks itself: its hyperparameters, SageMaker's environment
variables and the MNIST channels (IDX gzip files). Every mistake is a JobFailure whose message
names the input and the fix.

Imported by mnist.py from its own folder (SageMaker uploads the whole source_dir; the local
engine runs the script from there). Must stay Python 3.8 compatible, as mnist.py.
"""

import argparse
import gzip
import json
import math
import os
import struct

import numpy as np

SEED_VARIABLE = "HPO_TUI_TRAINING_SEED"
DEFAULTS = {
    "batch_size": 100,
    "num_epoch": 10,
    "learning_rate": 0.1,
    "optimizer": "sgd",
    "model": "mlp",
    "max_train_samples": 0,
}
MODELS = ("mlp", "lenet")


class JobFailure(Exception):
    """A failure the user can fix; its message is the whole report (one line)."""


# ---------------------------------------------------------------- hyperparameters


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise JobFailure("bad hyperparameters: " + message)


def parse_hyperparameters(argv):
    """(hyperparameters dict, ["name=value" of ignored ones]); raises JobFailure on bad values."""
    parser = _Parser(add_help=False, allow_abbrev=False)
    for name in DEFAULTS:
        parser.add_argument("--" + name, default=None)
    known, unknown = parser.parse_known_args(argv)
    raw = {name: getattr(known, name) for name in DEFAULTS}

    hps = {}
    hps["batch_size"] = _integer(raw, "batch_size", minimum=1)
    hps["num_epoch"] = _integer(raw, "num_epoch", minimum=1)
    hps["max_train_samples"] = _integer(raw, "max_train_samples", minimum=0)
    hps["learning_rate"] = _number(raw, "learning_rate")
    if not hps["learning_rate"] > 0:
        raise JobFailure(
            "bad hyperparameter learning_rate={}: it must be a positive number, such as 0.1".format(
                raw["learning_rate"]
            )
        )
    hps["optimizer"] = _text(raw, "optimizer").lower()
    hps["model"] = _text(raw, "model").lower()
    if hps["model"] not in MODELS:
        raise JobFailure(
            "bad hyperparameter model={}: use one of {}".format(raw["model"], ", ".join(MODELS))
        )
    return hps, _pair_unknown(unknown)


def _unquote(value):
    # SageMaker JSON-encodes hyperparameter values; its toolkit normally decodes them,
    # but a value can still arrive as '"sgd"'.
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return str(decoded)
    return value


def _text(raw, name):
    value = raw[name]
    return str(DEFAULTS[name]) if value is None else _unquote(value).strip()


def _number(raw, name):
    text = _text(raw, name)
    try:
        value = float(text)
    except ValueError:
        raise JobFailure(
            "bad hyperparameter {}={}: it must be a number, such as {}".format(name, text, DEFAULTS[name])
        ) from None
    if not math.isfinite(value):
        raise JobFailure("bad hyperparameter {}={}: it must be a finite number".format(name, text))
    return value


def _integer(raw, name, minimum):
    text = _text(raw, name)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value == int(value)):
        raise JobFailure(
            "bad hyperparameter {}={}: it must be a whole number, such as {}".format(
                name, text, DEFAULTS[name] or 1000
            )
        )
    value = int(value)
    if value < minimum:
        raise JobFailure(
            "bad hyperparameter {}={}: it must be at least {}".format(name, text, minimum)
        )
    return value


def _pair_unknown(unknown):
    """['--a', '1', '--flag', '--b', '2'] -> ['a=1', 'flag', 'b=2'] for the log."""
    pairs = []
    i = 0
    while i < len(unknown):
        item = unknown[i]
        if item.startswith("--"):
            name = item[2:]
            if "=" in name:
                pairs.append(name)
            elif i + 1 < len(unknown) and not unknown[i + 1].startswith("--"):
                pairs.append("{}={}".format(name, unknown[i + 1]))
                i += 1
            else:
                pairs.append(name)
        else:
            pairs.append(item)
        i += 1
    return pairs


# ---------------------------------------------------------------- environment and data


def read_environment():
    hosts_text = os.environ.get("SM_HOSTS", '["algo-1"]')
    try:
        hosts = json.loads(hosts_text)
    except ValueError:
        raise JobFailure("SM_HOSTS is not a JSON list of host names: {}".format(hosts_text)) from None
    gpus_text = os.environ.get("SM_NUM_GPUS", "0")
    try:
        num_gpus = int(gpus_text)
    except ValueError:
        raise JobFailure("SM_NUM_GPUS is not a whole number: {}".format(gpus_text)) from None
    return {
        "train": os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"),
        "test": os.environ.get("SM_CHANNEL_TEST", "/opt/ml/input/data/test"),
        "model_dir": os.environ.get("SM_MODEL_DIR", "/opt/ml/model"),
        "hosts": list(hosts) or ["algo-1"],
        "current_host": os.environ.get("SM_CURRENT_HOST", (list(hosts) or ["algo-1"])[0]),
        "num_gpus": num_gpus,
        "seed": _seed(os.environ.get(SEED_VARIABLE, "").strip()),
    }


def _seed(text):
    """The training seed from the environment's text, or None when unset."""
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise JobFailure("{} is not a whole number in 0..{}: {}".format(SEED_VARIABLE, 2**32 - 1, text))
    return value


def find_file(root, file_name, channel):
    """The channel's file, anywhere below its directory (SageMaker may keep S3 sub-folders)."""
    if not os.path.isdir(root):
        raise JobFailure(
            "{} channel directory not found: {}; set SM_CHANNEL_{} to a directory holding "
            "images.gz and labels.gz (hpo-tui data prepare writes them)".format(
                channel, root, channel.upper()
            )
        )
    for folder, _dirs, files in sorted(os.walk(root)):
        if file_name in files:
            return os.path.join(folder, file_name)
    raise JobFailure(
        "{} channel {} has no {}; it needs images.gz and labels.gz in IDX format".format(
            channel, root, file_name
        )
    )


def load_channel(root, channel):
    """(images uint8 [n, 1, 28, 28], labels int32 [n]) from a channel's IDX gzip files."""
    labels_path = find_file(root, "labels.gz", channel)
    images_path = find_file(root, "images.gz", channel)
    try:
        with gzip.open(labels_path, "rb") as fh:
            magic, count = struct.unpack(">II", fh.read(8))
            if magic != 2049:
                raise ValueError("{} is not an IDX label file (magic {})".format(labels_path, magic))
            labels = np.frombuffer(fh.read(), dtype=np.uint8)
        with gzip.open(images_path, "rb") as fh:
            magic, n, rows, cols = struct.unpack(">IIII", fh.read(16))
            if magic != 2051:
                raise ValueError("{} is not an IDX image file (magic {})".format(images_path, magic))
            images = np.frombuffer(fh.read(), dtype=np.uint8)
        if len(labels) != count or images.size != n * rows * cols or n != count:
            raise ValueError("{} and {} disagree or are truncated".format(labels_path, images_path))
    except (OSError, EOFError, ValueError, struct.error) as err:
        raise JobFailure("cannot read the {} channel: {}".format(channel, err)) from None
    return images.reshape(n, 1, rows, cols), labels.astype(np.int32)
