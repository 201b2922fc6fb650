"""Train an MXNet MNIST classifier under SageMaker's script-mode contract (AWS container or hpo-tui's local engine).

Hyperparameters arrive as ``--name value``: batch_size (100), num_epoch (10),
learning_rate (0.1), optimizer (sgd, any case), model (mlp | lenet),
max_train_samples (all). Unknown ones (SageMaker adds ``_tuning_objective_metric``)
are logged and ignored.

Environment (SageMaker's): SM_CHANNEL_TRAIN, SM_CHANNEL_TEST (IDX gzip files
images.gz / labels.gz), SM_MODEL_DIR, SM_HOSTS, SM_CURRENT_HOST, SM_NUM_GPUS.
After every epoch it prints ``Epoch[k] Train-accuracy=``, ``Epoch[k] Validation-accuracy=``
and ``Epoch[k] Validation-loss=`` (k from 0, MXNet's convention). Validation is the
test channel, as in SageMaker's reference MNIST sample.

The trained network is exported to SM_MODEL_DIR as model-symbol.json +
model-0000.params (+ model-shapes.json): load it with
``gluon.SymbolBlock.imports("model-symbol.json", ["data"], "model-0000.params")``
or ``mx.model.load_checkpoint(prefix, 0)``. It outputs class probabilities.

Failures (bad hyperparameters, missing data, diverged training) end with exit code 1
and one line on stderr. The same line goes to /opt/ml/output/failure when
/opt/ml/output exists (SageMaker shows it as the FailureReason), and to the file named
by HPO_TUI_FAILURE_FILE when that is set (hpo-tui's local engine).

Seeding: when HPO_TUI_TRAINING_SEED holds a whole number (hpo-tui's local engine sets it
when the spec has random_seed), NumPy (batch order) and MXNet (initial weights) are seeded
with it, so the same job trains the same twice. SageMaker sets no such variable: its jobs
are not seeded.

Denormal floats are flushed to zero on x86-64 Linux (see flush_denormals): they slow some
jobs' epochs down several times and do not change what the network learns.

Its inputs (hyperparameters, environment, channels) are checked by mnist_inputs.py, beside it.

Must stay Python 3.8 compatible (so must mnist_inputs.py): it runs unchanged in AWS's MXNet
1.9.0 container.
"""

import json
import math
import os
import sys
import time
import warnings

import numpy as np

# MXNet 1.9 still uses np.bool, np.int, np.float and np.object, which NumPy 1.24
# removed; put them back before importing mxnet. NumPy warns when the old names are
# looked up, and that noise would land in every job log, so it is silenced here.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    for _name, _type in (("bool", bool), ("int", int), ("float", float), ("object", object)):
        setattr(np, _name, getattr(np, _name, _type))


def flush_denormals():
    """Flush float results too small for a normal float (below ~1.2e-38 in float32) to zero.

    Arithmetic on such "denormal" numbers costs x86 CPUs up to a hundred times more than
    usual. A network whose units die, as with a high Adam learning rate, fills its optimizer
    state with them, and its epochs run several times slower (bench/RESULTS.md has the figures).
    Numbers this small do not change what the network predicts. TensorFlow flushes
    them by default; MXNet 1.9 has no switch, so this sets the flush-to-zero and
    denormals-are-zero bits of the SSE control register (MXCSR) through glibc's fesetenv.

    It sets this thread's register. Threads started afterwards (MXNet's engine workers, its
    OpenMP pool) inherit it, so it must run before mxnet is imported. Returns why it could
    not, or None: the script then trains the same way, only slower on denormals.
    """
    import ctypes
    import platform

    if not sys.platform.startswith("linux") or platform.machine().lower() not in ("x86_64", "amd64"):
        return "only done on x86-64 Linux"
    # NumPy works out its float limits once per type, and under this setting would find the
    # smallest denormal to be zero and warn in every job's log. Worked out now, they are cached.
    for float_type in (np.float16, np.float32, np.float64, np.longdouble):
        np.finfo(float_type)
    try:
        libm = ctypes.CDLL("libm.so.6")
        # glibc's x86-64 fenv_t is 32 bytes; its last 4 are MXCSR. The buffer is larger on purpose.
        env = (ctypes.c_uint32 * 16)()
        if libm.fegetenv(env) != 0:
            return "fegetenv failed"
        env[7] |= 0x8040  # MXCSR bit 15: flush to zero; bit 6: denormals are zero
        if libm.fesetenv(env) != 0:
            return "fesetenv failed"
    except (OSError, AttributeError) as err:
        return str(err)
    return None


# Before mxnet is imported: its threads inherit the setting (see flush_denormals).
DENORMALS_KEPT = flush_denormals()

# The checks of its inputs (hyperparameters, environment, channels) live beside it, in
# mnist_inputs.py: SageMaker uploads the whole source_dir, and the local engine runs the script
# from that folder. Its folder is put on sys.path also when the script is run another way (exec,
# runpy); no __pycache__ is written into it.
sys.dont_write_bytecode = True
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
from mnist_inputs import JobFailure, find_file, load_channel, parse_hyperparameters, read_environment  # noqa: E402

SAGEMAKER_FAILURE_FILE = "/opt/ml/output/failure"
# Evaluation batch: independent of the training batch size, large enough to be quick.
EVAL_BATCH = 1000
# How often (in batches) the running loss is checked for NaN/inf, so a diverged run
# stops within seconds instead of at the end of a long epoch.
DIVERGENCE_CHECK_EVERY = 50


def main(argv):
    try:
        hps, ignored = parse_hyperparameters(argv)
        env = read_environment()
        if ignored:
            log("ignoring unknown hyperparameters: " + ", ".join(ignored))
        run(hps, env)
    except JobFailure as failure:
        report_failure(str(failure))
        return 1
    except KeyboardInterrupt:
        print("training interrupted", file=sys.stderr, flush=True)
        return 130
    except Exception as err:
        # Not something this script knows how to explain: keep the traceback in the
        # log, and still give SageMaker / hpo-tui a reason to show.
        # MXNet errors carry a C++ stack after the first line; the reason is that line.
        first_line = (str(err).strip().splitlines() or [""])[0]
        report_failure("training failed: {}: {}".format(type(err).__name__, first_line), stderr=False)
        raise
    return 0


# ---------------------------------------------------------------- model


def build_network(name, gluon, prefix=None):
    net = gluon.nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        if name == "lenet":
            net.add(gluon.nn.Conv2D(20, kernel_size=5, activation="relu"))
            net.add(gluon.nn.MaxPool2D(pool_size=2, strides=2))
            net.add(gluon.nn.Conv2D(50, kernel_size=5, activation="relu"))
            net.add(gluon.nn.MaxPool2D(pool_size=2, strides=2))
            net.add(gluon.nn.Dense(500, activation="relu"))
            net.add(gluon.nn.Dense(10))
        else:
            # The reference MLP of SageMaker's MNIST sample: 128-64-10, ReLU.
            net.add(gluon.nn.Dense(128, activation="relu"))
            net.add(gluon.nn.Dense(64, activation="relu"))
            net.add(gluon.nn.Dense(10))
    return net


# ---------------------------------------------------------------- training


def run(hps, env):
    started = time.time()
    # Cheap checks first, so a mistake is reported before seconds of imports and reading.
    for channel in ("train", "test"):
        find_file(env[channel], "images.gz", channel)
        find_file(env[channel], "labels.gz", channel)

    mx = import_mxnet()
    from mxnet import autograd, gluon

    if env.get("seed") is not None:
        np.random.seed(env["seed"])
        mx.random.seed(env["seed"])

    # MXNet registers a "test" optimizer for its own unit tests; it is not offered.
    optimizers = sorted(set(mx.optimizer.Optimizer.opt_registry) - {"test"})
    if hps["optimizer"] not in optimizers:
        raise JobFailure(
            "bad hyperparameter optimizer={}: use sgd, adam or another MXNet optimizer ({})".format(
                hps["optimizer"], ", ".join(optimizers)
            )
        )
    train_images, train_labels = load_channel(env["train"], "train")
    test_images, test_labels = load_channel(env["test"], "test")
    if env["num_gpus"] > 0:
        contexts = [mx.gpu(i) for i in range(env["num_gpus"])]
    else:
        contexts = [mx.cpu()]

    kvstore, rank, workers = "device", 0, 1
    if len(env["hosts"]) > 1:
        # Data-parallel across hosts needs SageMaker's parameter servers (the
        # estimator's distribution={"parameter_server": {"enabled": True}}), which
        # set DMLC_ROLE. Without them each host trains on its own.
        if "DMLC_ROLE" in os.environ:
            kvstore = mx.kv.create("dist_sync")
            rank, workers = kvstore.rank, kvstore.num_workers
        else:
            log("several hosts but no parameter server: each host trains on its own")

    if hps["max_train_samples"]:
        train_images = train_images[: hps["max_train_samples"]]
        train_labels = train_labels[: hps["max_train_samples"]]
    if workers > 1:
        train_images, train_labels = train_images[rank::workers], train_labels[rank::workers]
    if DENORMALS_KEPT:
        log("denormal numbers are not flushed to zero ({}): training may be slower".format(DENORMALS_KEPT))
    log(
        "training {} on {} images ({} test images), {}, hyperparameters {}".format(
            hps["model"], len(train_labels), len(test_labels),
            ", ".join(str(c) for c in contexts), json.dumps(hps, sort_keys=True),
        )
    )

    net = build_network(hps["model"], gluon)
    # Xavier scaled for ReLU (Gaussian, fan-in, magnitude 2): the network learns from
    # the first epoch, unlike the small uniform default of MXNet's Module.fit.
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2), ctx=contexts)
    trainer = gluon.Trainer(
        net.collect_params(), hps["optimizer"], {"learning_rate": hps["learning_rate"]}, kvstore=kvstore
    )
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    # One compiled graph per step: scale the uint8 batch, forward, loss, its sum and the
    # number of correct predictions, so a batch costs a handful of operator calls.
    train_step = _Scored(net, loss_fn, gluon)
    train_step.hybridize(static_alloc=True, static_shape=True)
    eval_step = _Scored(net, loss_fn, gluon)
    eval_step.hybridize(static_alloc=True, static_shape=True)

    # Both channels are copied once into uint8 NDArrays; batches are index slices of them.
    all_train_x = mx.nd.array(train_images, ctx=mx.cpu(), dtype=np.uint8)
    all_train_y = mx.nd.array(train_labels, ctx=mx.cpu(), dtype=np.float32)
    all_test_x = mx.nd.array(test_images, ctx=contexts[0], dtype=np.uint8)
    all_test_y = mx.nd.array(test_labels, ctx=contexts[0], dtype=np.float32)
    n, n_test = len(train_labels), len(test_labels)
    del train_images, test_images  # copied into NDArrays; no need to hold them twice
    batch = hps["batch_size"]
    for epoch in range(hps["num_epoch"]):
        tic = time.time()
        # One shuffled order per epoch (the same batches as slicing a permutation), as one
        # index NDArray; each batch takes a view of it.
        order = mx.nd.array(np.random.permutation(n), ctx=mx.cpu(), dtype=np.int32)
        loss_sum = mx.nd.zeros((1,), ctx=contexts[0])
        correct = mx.nd.zeros((1,), ctx=contexts[0])
        for b, start in enumerate(range(0, n, batch)):
            idx = order[start : start + batch]
            x = mx.nd.take(all_train_x, idx)
            y = mx.nd.take(all_train_y, idx)
            if len(contexts) == 1:
                parts = [(x.as_in_context(contexts[0]), y.as_in_context(contexts[0]))]
            else:
                parts = list(zip(gluon.utils.split_and_load(x, contexts, even_split=False),
                                 gluon.utils.split_and_load(y, contexts, even_split=False)))
            with autograd.record():
                results = [train_step(xp, yp) for xp, yp in parts]
            autograd.backward([losses for losses, _, _ in results])
            trainer.step(idx.shape[0])
            for _, batch_loss, batch_correct in results:
                loss_sum += batch_loss.as_in_context(contexts[0])
                correct += batch_correct.as_in_context(contexts[0])
            if (b + 1) % DIVERGENCE_CHECK_EVERY == 0:
                check_finite(loss_sum.asscalar(), epoch)
        train_loss = loss_sum.asscalar() / n
        check_finite(train_loss, epoch)
        train_acc = correct.asscalar() / n
        val_acc, val_loss = evaluate(eval_step, all_test_x, all_test_y, n_test, contexts, mx)
        check_finite(val_loss, epoch)
        emit("Epoch[{}] Train-accuracy={:.6f}".format(epoch, train_acc))
        emit("Epoch[{}] Time cost={:.3f}".format(epoch, time.time() - tic))
        emit("Epoch[{}] Validation-accuracy={:.6f}".format(epoch, val_acc))
        emit("Epoch[{}] Validation-loss={:.4f}".format(epoch, val_loss))

    if env["current_host"] == env["hosts"][0]:
        save_model(net, hps["model"], env["model_dir"], contexts, mx, gluon)
    log("done in {:.1f} s".format(time.time() - started))


def _Scored(net, loss_fn, gluon):
    """A hybrid block: (uint8 images, labels) -> (per-sample loss, loss sum, correct count)."""

    class Scored(gluon.HybridBlock):
        def __init__(self):
            super(Scored, self).__init__(prefix="")
            # Registered as children, but they keep their own names (the exported
            # parameter names do not change).
            self.net = net
            self.loss_fn = loss_fn

        def hybrid_forward(self, F, images, labels):
            out = self.net(F.cast(images, dtype="float32") / 255.0)
            losses = self.loss_fn(out, labels)
            correct = F.sum(F.argmax(out, axis=1) == labels)
            return losses, F.sum(losses), correct

    return Scored()


def import_mxnet():
    """import mxnet, without the scikit-learn import it does on the side.

    mxnet.model imports scikit-learn (which loads pandas and SciPy: about a second of CPU
    per job) only to subclass its BaseEstimator in the legacy FeedForward API, and falls
    back to a plain class when it is missing. This script never uses FeedForward.
    """
    hidden = "sklearn" not in sys.modules
    if hidden:
        sys.modules["sklearn"] = None  # makes "from sklearn.base import ..." an ImportError
    try:
        import mxnet
    finally:
        if hidden and sys.modules.get("sklearn", 0) is None:
            del sys.modules["sklearn"]
    return mxnet


def evaluate(eval_step, images, labels, count, contexts, mx):
    """(accuracy, mean softmax cross-entropy) on a whole channel, one host read at the end."""
    correct = mx.nd.zeros((1,), ctx=contexts[0])
    loss_sum = mx.nd.zeros((1,), ctx=contexts[0])
    for start in range(0, count, EVAL_BATCH):
        _, batch_loss, batch_correct = eval_step(images[start : start + EVAL_BATCH], labels[start : start + EVAL_BATCH])
        loss_sum += batch_loss
        correct += batch_correct
    totals = mx.nd.concat(correct, loss_sum, dim=0).asnumpy()
    return float(totals[0]) / count, float(totals[1]) / count


def check_finite(loss, epoch):
    if not math.isfinite(loss):
        raise JobFailure(
            "training diverged at epoch {} (loss={}); lower learning_rate".format(
                epoch, "nan" if math.isnan(loss) else "inf"
            )
        )


def save_model(net, model_name, model_dir, contexts, mx, gluon):
    """Export a probability-output network (symbol JSON + params) that MXNet loads back."""
    os.makedirs(model_dir, exist_ok=True)

    class WithSoftmax(gluon.HybridBlock):
        def __init__(self, body):
            super(WithSoftmax, self).__init__(prefix="")
            with self.name_scope():
                self.body = body

        def hybrid_forward(self, F, x):
            return F.softmax(self.body(x))

    exported = WithSoftmax(net)
    exported.hybridize()
    exported(mx.nd.zeros((1, 1, 28, 28), ctx=contexts[0]))
    prefix = os.path.join(model_dir, "model")
    exported.export(prefix, epoch=0)
    # The shapes file lets SageMaker's default MXNet model server bind the network.
    with open(prefix + "-shapes.json", "w") as fh:
        json.dump([{"name": "data", "shape": [1, 1, 28, 28]}], fh)
    # Relative to the working directory when inside it (the local engine runs each job in its
    # own folder): shorter log lines that don't depend on where the data directory lives.
    shown = os.path.relpath(prefix) if os.path.abspath(prefix).startswith(os.getcwd() + os.sep) else prefix
    log("saved {} model to {}-symbol.json and {}-0000.params".format(model_name, shown, shown))


# ---------------------------------------------------------------- output


def emit(line):
    print(line, flush=True)


def log(line):
    print(line, flush=True)


def report_failure(message, stderr=True):
    if stderr:
        print(message, file=sys.stderr, flush=True)
    targets = []
    if os.path.isdir(os.path.dirname(SAGEMAKER_FAILURE_FILE)):
        targets.append(SAGEMAKER_FAILURE_FILE)
    if os.environ.get("HPO_TUI_FAILURE_FILE"):
        targets.append(os.environ["HPO_TUI_FAILURE_FILE"])
    for path in targets:
        try:
            with open(path, "w") as fh:
                fh.write(message + "\n")
        except OSError as err:
            print("could not write the failure file {}: {}".format(path, err), file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
