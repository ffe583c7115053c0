"""Shared pieces of the Python reference implementations of blasnet's dense model.

Everything here imports only the standard library at module level, so the
scripts can parse their arguments and set the BLAS/OpenMP thread variables
*before* NumPy or PyTorch is imported (the thread pools read them at load time).
NumPy is imported lazily inside the functions that need it.
"""

import argparse
import json
import os
import struct
import sys

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(SCRIPT_DIR))
DEFAULT_DATA_DIR = os.path.join(REPO_ROOT, "data", "mnist")

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"

# The dense model: 784 -> 128 ReLU -> 64 ReLU -> 1 (sigmoid folded into the loss). With K >= 3
# classes the output layer has K logits (softmax folded into the loss); --hidden changes 128, 64.
INPUT_SIZE = 784
DEFAULT_HIDDEN = (128, 64)
LAYER_SIZES = (INPUT_SIZE, *DEFAULT_HIDDEN, 1)
ALL_DIGITS = tuple(range(10))

# Adam, Keras flavour (epsilon outside the square root, bias correction folded into the step).
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPSILON = 1e-7

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def fail(prog, message):
    """One line on stderr, exit status 1."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(1)


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parse_classes(text):
    """'all' -> (0, ..., 9); 'A,B[,C...]' -> the listed digits in order (class i is the i-th listed)."""
    if text.strip().lower() == "all":
        return ALL_DIGITS
    parts = text.split(",")
    try:
        digits = tuple(int(p.strip()) for p in parts)
    except ValueError:
        raise ValueError(f"expected 'all' or two or more digits separated by commas, "
                         f"like 0,1 or 3,5,8 (got '{text}')") from None
    if len(digits) < 2:
        raise ValueError(f"expected at least two digits, like 0,1 (got '{text}')")
    if not all(0 <= d <= 9 for d in digits):
        raise ValueError(f"digits must be 0...9 (got '{text}')")
    if len(set(digits)) != len(digits):
        raise ValueError(f"the digits must differ (got '{text}')")
    return digits


def parse_hidden(text):
    """'128,64' -> (128, 64): the widths of the hidden layers, at least one."""
    try:
        widths = tuple(int(p.strip()) for p in text.split(","))
    except ValueError:
        raise ValueError(f"expected positive integers separated by commas, like 128,64 (got '{text}')") from None
    if not all(1 <= w <= 65536 for w in widths):
        raise ValueError(f"widths must be in 1...65536 (got '{text}')")
    return widths


def output_width(class_count):
    """Logits of the output layer: 1 for two classes (sigmoid + BCE), else one per class (softmax + CE)."""
    return 1 if class_count == 2 else class_count


def layer_sizes(hidden, class_count):
    return (INPUT_SIZE, *hidden, output_width(class_count))


def describe_classes(classes):
    if len(classes) == 2:
        return f"digits {classes[0]} vs {classes[1]}"
    if tuple(classes) == ALL_DIGITS:
        return "all 10 digits"
    return f"digits {','.join(map(str, classes))} ({len(classes)} classes)"


def _positive_int(name):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer (got '{text}')") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1 (got {value})")
        return value
    return parse


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got '{text}')") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number (got '{text}')")
    return value


def _classes(text):
    try:
        return parse_classes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _hidden(text):
    try:
        return parse_hidden(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer (got '{text}')") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be in 0...{2**32 - 1} (got {value})")
    return value


def parse_args(prog, engine_description, argv=None, flush_denormals_option=False):
    """The options shared by the reference scripts (the same names as `blasnet train`), plus
    --flush-denormals where the framework can switch it (PyTorch)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            f"Reference implementation of blasnet's dense model in {engine_description}: "
            "784 -> 128 ReLU -> 64 ReLU -> 1 logit with binary cross-entropy for two classes, "
            "-> K logits with softmax cross-entropy for K >= 3; Glorot-uniform weights, "
            "Keras-flavoured Adam, reshuffled every epoch. Trains on MNIST digits and reports "
            "test accuracy and throughput."))
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="directory holding the four uncompressed MNIST IDX files "
                             "(default: $BLASNET_DATA_DIR, else data/mnist in the repository)")
    parser.add_argument("--classes", metavar="LIST", type=_classes, default=(0, 1),
                        help="'all' (the ten digits) or two or more distinct digits separated by commas; "
                             "class i is the i-th listed digit (3,5,8: 3 is class 0). Two classes: one "
                             "logit, sigmoid + binary cross-entropy; three or more: one logit per class, "
                             "softmax + cross-entropy, predicted class = argmax (default: 0,1)")
    parser.add_argument("--hidden", metavar="LIST", type=_hidden, default=DEFAULT_HIDDEN,
                        help="widths of the ReLU hidden layers, separated by commas (default: 128,64)")
    parser.add_argument("--epochs", type=_positive_int("--epochs"), default=10,
                        help="passes over the training set (default: 10)")
    parser.add_argument("--batch-size", type=_positive_int("--batch-size"), default=32,
                        help="samples per Adam step; the last partial batch is kept (default: 32)")
    parser.add_argument("--learning-rate", type=_positive_float, default=1e-3,
                        help="Adam learning rate (default: 0.001)")
    parser.add_argument("--seed", type=_seed, default=42,
                        help="seed of the initial weights and the batch order (default: 42)")
    parser.add_argument("--threads", type=_positive_int("--threads"), default=None,
                        help=f"threads for the matrix products (default: the available cores, "
                             f"{available_cores()} here)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with the results instead of text")
    if flush_denormals_option:
        parser.add_argument("--flush-denormals", action="store_true",
                            help="flush subnormal floats to zero, as blasnet (unless --keep-subnormals), "
                                 "JAX and TensorFlow do by default (default: IEEE subnormals, the framework's "
                                 "own default)")
    args = parser.parse_args(argv)
    if args.data_dir is not None and args.data_dir == "":
        parser.error("--data-dir must not be empty")
    if args.threads is None:
        args.threads = available_cores()
    return args


def set_thread_env(threads):
    """Set the thread-count variables of OpenBLAS, OpenMP and MKL. Call before importing numpy/torch."""
    for name in THREAD_ENV_VARS:
        os.environ[name] = str(threads)


def resolve_data_dir(data_dir):
    if data_dir:
        return data_dir
    return os.environ.get("BLASNET_DATA_DIR") or DEFAULT_DATA_DIR


# ---------------------------------------------------------------- IDX / MNIST

class DataError(Exception):
    pass


def _read_idx(path, expected_magic, expected_dims):
    import numpy as np
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(f"missing MNIST file {path}; fetch it with scripts/fetch-mnist.sh") from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    if len(data) < 4:
        raise DataError(f"{path} is not an IDX file (only {len(data)} bytes)")
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        raise DataError(f"{path} is not an IDX file of the expected type "
                        f"(magic 0x{magic:08x}, expected 0x{expected_magic:08x}); "
                        "the files must be uncompressed")
    header = 4 + 4 * expected_dims
    if len(data) < header:
        raise DataError(f"{path} is truncated (header)")
    dims = struct.unpack(f">{expected_dims}I", data[4:header])
    count = 1
    for d in dims:
        count *= d
    if len(data) != header + count:
        raise DataError(f"{path} has {len(data) - header} bytes of data, the header says {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_split(directory, images_name, labels_name, classes):
    """Images of the chosen digits (file order) as float32 N x 784 in [0, 1], and their labels: for two
    classes float32 N (A -> 0.0, B -> 1.0), for K >= 3 int64 N class indices (classes[i] -> i)."""
    import numpy as np
    images = _read_idx(os.path.join(directory, images_name), 0x00000803, 3)
    labels = _read_idx(os.path.join(directory, labels_name), 0x00000801, 1)
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{images_name} has {images.shape[0]} images but {labels_name} "
                        f"has {labels.shape[0]} labels")
    if images.shape[1:] != (28, 28):
        raise DataError(f"{images_name} holds {images.shape[1]}x{images.shape[2]} images, expected 28x28")
    lookup = np.full(256, -1, dtype=np.int64)
    lookup[list(classes)] = np.arange(len(classes))
    index = lookup[labels]
    keep = index >= 0
    x = images[keep].reshape(-1, 784).astype(np.float32) / np.float32(255.0)
    y = index[keep]
    if len(classes) == 2:
        y = y.astype(np.float32)
    return np.ascontiguousarray(x), y


def load_mnist(data_dir, classes):
    """(x_train, y_train, x_test, y_test) for the digits; raises DataError with a one-line message."""
    directory = resolve_data_dir(data_dir)
    if not os.path.isdir(directory):
        raise DataError(f"MNIST directory {directory} does not exist; "
                        f"fetch it with scripts/fetch-mnist.sh {directory}")
    x_train, y_train = load_split(directory, TRAIN_IMAGES, TRAIN_LABELS, classes)
    x_test, y_test = load_split(directory, TEST_IMAGES, TEST_LABELS, classes)
    import numpy as np
    for name, y in (("training", y_train), ("test", y_test)):
        counts = np.bincount(y.astype(np.int64), minlength=len(classes))
        missing = [str(c) for c, count in zip(classes, counts) if count == 0]
        if missing:
            raise DataError(f"no {name} images of digit(s) {','.join(missing)} in {directory}")
    return x_train, y_train, x_test, y_test


# ---------------------------------------------------------------- model init

def glorot_uniform(rng, fan_out, fan_in):
    """W[out, in] drawn uniformly from [-limit, limit], limit = sqrt(6 / (fan_in + fan_out)); float32."""
    import numpy as np
    limit = (6.0 / (fan_in + fan_out)) ** 0.5
    return rng.uniform(-limit, limit, size=(fan_out, fan_in)).astype(np.float32)


def init_dense_params(rng, sizes=LAYER_SIZES):
    """[(W1, b1), (W2, b2), ...] in nn.Linear layout (W[out, in]), zero biases, from a RandomState;
    sizes: input, hidden widths, output (layer_sizes())."""
    import numpy as np
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append((glorot_uniform(rng, fan_out, fan_in), np.zeros(fan_out, dtype=np.float32)))
    return params


def adam_step_size(learning_rate, step):
    """Keras Adam's effective step at 1-based step t: lr * sqrt(1 - beta2^t) / (1 - beta1^t)."""
    return learning_rate * (1.0 - ADAM_BETA2 ** step) ** 0.5 / (1.0 - ADAM_BETA1 ** step)


def batch_count(n, batch_size):
    return (n + batch_size - 1) // batch_size


# ---------------------------------------------------------------- output

def blas_info():
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries, or None when threadpoolctl is missing."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl.threadpool_info()


def openblas_env_note():
    """OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE when set (they change OpenBLAS's kernel choice)."""
    notes = [f"{name}={os.environ[name]}" for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
             if os.environ.get(name)]
    return ", ".join(notes)


def print_json(obj):
    print(json.dumps(obj, sort_keys=True))
    sys.stdout.flush()


def summary_object(*, engine, framework_version, engine_details, threads, args, classes,
                   train_count, result):
    return {
        "model": "dense",
        "engine": engine,
        "framework_version": framework_version,
        "engine_details": engine_details,
        "threads": threads,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "classes": list(classes),
        "hidden_layers": list(args.hidden),
        "train_count": train_count,
        "test_accuracy": result["test_accuracy"],
        "test_errors": result["test_errors"],
        "test_count": result["test_count"],
        "train_seconds": result["train_seconds"],
        "epoch_seconds": result["epoch_seconds"],
        "samples_per_second": result["samples_per_second"],
        "final_loss": result["epoch_losses"][-1],
        "epoch_losses": result["epoch_losses"],
        "epoch_test_accuracies": result["epoch_test_accuracies"],
    }


def print_header(prog, engine_details, threads, args, train_count, test_count):
    sizes = "-".join(map(str, layer_sizes(args.hidden, len(args.classes))))
    print(f"{prog}: dense model {sizes} on {engine_details}; {threads} thread(s); "
          f"{describe_classes(args.classes)}: {train_count} train, {test_count} test; batch {args.batch_size}, "
          f"{args.epochs} epochs, lr {args.learning_rate}, seed {args.seed}")
    sys.stdout.flush()


def print_epoch(epoch, epochs, loss, train_acc, test_acc, seconds, samples):
    width = len(str(epochs))
    rate = samples / seconds if seconds > 0 else float("inf")
    print(f"epoch {epoch:>{width}}/{epochs}  loss {loss:.5f}  train {train_acc * 100:.2f}%  "
          f"test {test_acc * 100:.2f}%  {seconds:.3f} s  {rate / 1000:.1f}k samples/s")
    sys.stdout.flush()


def print_summary(result, threads):
    print(f"test accuracy {result['test_accuracy'] * 100:.2f}% "
          f"({result['test_errors']} errors of {result['test_count']}); "
          f"training {result['train_seconds']:.3f} s, {result['samples_per_second'] / 1000:.1f}k samples/s; "
          f"{threads} thread(s)")


def training_result(*, test_errors, test_count, epoch_seconds, samples_per_epoch, epoch_losses,
                    epoch_test_accuracies):
    """The result dictionary every reference's train() returns; epoch_seconds: training seconds per epoch."""
    train_seconds = sum(epoch_seconds)
    return {
        "test_accuracy": 1 - test_errors / test_count,
        "test_errors": test_errors,
        "test_count": test_count,
        "train_seconds": train_seconds,
        "epoch_seconds": epoch_seconds,
        "samples_per_second": samples_per_epoch * len(epoch_seconds) / train_seconds,
        "epoch_losses": epoch_losses,
        "epoch_test_accuracies": epoch_test_accuracies,
    }


def run_and_report(prog, *, engine, framework_version, engine_details, threads, args, train_count,
                   test_count, run):
    """Prints the header (text mode), calls run(on_epoch) -> result, then prints JSON or the summary."""
    if args.json:
        def on_epoch(*_):
            pass
    else:
        print_header(prog, engine_details, threads, args, train_count, test_count)
        on_epoch = print_epoch
    result = run(on_epoch)
    if args.json:
        print_json(summary_object(
            engine=engine, framework_version=framework_version, engine_details=engine_details,
            threads=threads, args=args, classes=args.classes, train_count=train_count, result=result))
    else:
        print_summary(result, threads)

