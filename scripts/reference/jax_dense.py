#!/usr/bin/env python3
"""JAX (CPU) reference of blasnet's dense model: 784 -> 128 ReLU -> 64 ReLU -> 1, BCE from logits, Keras Adam
(K >= 3 classes: K logits, softmax cross-entropy from jax.nn.log_softmax).

One jax.jit-compiled train step over (parameters, Adam state, batch): the loss and its
gradients come from jax.value_and_grad, and the Keras-flavoured Adam update is written out by
hand inside the same compiled function. float32 on the CPU. Run with --help for the options.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only: safe before the thread variables are set)

PROG = "jax_dense.py"
JAX_INSTALL = "pip install jax"


def set_xla_thread_env(threads):
    """Thread settings for XLA's CPU client; must run before jax is imported.

    XLA_FLAGS: --xla_cpu_multi_thread_eigen=false for one thread, so Eigen's matrix products
    and XLA's parallel loops run on the thread that executes the computation (true for N > 1).
    The intra_op_parallelism_threads=N word that commonly goes with it is not an XLA flag: XLA's
    parser takes it as a positional argument and ignores it. PJRT_NPROC=N is what sizes the CPU
    client's intra-op (Eigen) and dispatch thread pools (XLA's DefaultThreadPoolSize; otherwise
    the schedulable cores). Flags already in XLA_FLAGS are kept; an explicit PJRT_NPROC wins.
    Returns the settings applied, for engine_details.
    """
    eigen = "false" if threads == 1 else "true"
    ours = f"--xla_cpu_multi_thread_eigen={eigen} intra_op_parallelism_threads={threads}"
    existing = os.environ.get("XLA_FLAGS", "").strip()
    if "xla_cpu_multi_thread_eigen" in existing:
        flags = existing  # the caller chose; leave it alone
    else:
        flags = f"{existing} {ours}".strip()
    os.environ["XLA_FLAGS"] = flags
    os.environ.setdefault("PJRT_NPROC", str(threads))
    return flags, os.environ["PJRT_NPROC"]


def make_train_step(jax, jnp, binary):
    """binary: one logit, y float32 n x 1 in {0, 1}; else K logits, y int32 n class indices."""
    b1, b2, eps = common.ADAM_BETA1, common.ADAM_BETA2, common.ADAM_EPSILON

    def logits(params, x):
        h = x
        for W, b in params[:-1]:
            h = jax.nn.relu(h @ W.T + b)
        W, b = params[-1]
        return h @ W.T + b

    def loss_fn(params, x, y):
        z = logits(params, x)
        if binary:
            # Binary cross-entropy from logits, stable form: max(z,0) - z*y + log1p(exp(-|z|)), batch mean.
            loss = jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))
        else:
            # Softmax cross-entropy, batch mean of -log_softmax(z)[y] (log-sum-exp, stable).
            log_p = jax.nn.log_softmax(z, axis=1)
            loss = -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))
        return loss, z

    def correct_mask(z, y):
        if binary:
            return (z[:, 0] > 0) == (y[:, 0] > 0.5)
        return jnp.argmax(z, axis=1) == y

    def train_step(params, m, v, totals, x, y, alpha):
        """One Adam step. alpha = lr*sqrt(1-b2^t)/(1-b1^t) (computed on the host, as in the other
        references). totals = [sum of loss*batch, correct predictions] for the epoch, kept on the
        device so the loop never copies a result back to Python between steps."""
        (loss, z), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, x, y)
        m = jax.tree_util.tree_map(lambda m_, g: b1 * m_ + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v_, g: b2 * v_ + (1 - b2) * (g * g), v, grads)
        params = jax.tree_util.tree_map(lambda p, m_, v_: p - alpha * m_ / (jnp.sqrt(v_) + eps),
                                        params, m, v)
        correct = jnp.sum(correct_mask(z, y).astype(jnp.float32))
        totals = totals + jnp.stack([loss * x.shape[0], correct])
        return params, m, v, totals

    # Parameters, moments and totals are donated: XLA updates them in place.
    step = jax.jit(train_step, donate_argnums=(0, 1, 2, 3))
    # y of the test set: n floats (binary) or n class indices, as the data comes.
    if binary:
        count_errors = jax.jit(lambda params, x, y: jnp.sum((logits(params, x)[:, 0] > 0) != (y > 0.5)))
    else:
        count_errors = jax.jit(lambda params, x, y: jnp.sum(jnp.argmax(logits(params, x), axis=1) != y))
    return step, count_errors


def warm_up(jax, jnp, np, step, count_errors, params, batch_sizes, x_test, y_test, binary):
    """Compile the train step for every batch shape (and the test evaluation) on dummy data,
    outside the timed region. Works on copies, since the step donates its inputs."""
    for size in batch_sizes:
        copy = jax.tree_util.tree_map(jnp.array, params)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        moments = jax.tree_util.tree_map(jnp.zeros_like, params)
        out = step(copy, zeros, moments, jnp.zeros(2, jnp.float32),
                   np.zeros((size, 784), np.float32),
                   np.zeros((size, 1), np.float32) if binary else np.zeros(size, np.int32), np.float32(0))
        jax.block_until_ready(out)
    count_errors(params, x_test, y_test).block_until_ready()


def train(jax, jnp, np, params, rng, x_train, y_train, x_test, y_test, args, on_epoch):
    binary = len(args.classes) == 2
    step, count_errors = make_train_step(jax, jnp, binary)
    n = len(y_train)
    if binary:
        y_col = y_train.reshape(-1, 1)
    else:
        y_train, y_test = y_train.astype(np.int32), y_test.astype(np.int32)
        y_col = y_train
    batch = args.batch_size
    x_test_d, y_test_d = jnp.asarray(x_test), jnp.asarray(y_test)
    shapes = sorted({min(batch, n)} | ({n % batch} if n % batch else set()))
    warm_up(jax, jnp, np, step, count_errors, params, shapes, x_test_d, y_test_d, binary)

    m = jax.tree_util.tree_map(jnp.zeros_like, params)
    v = jax.tree_util.tree_map(jnp.zeros_like, params)
    t = 0
    epoch_seconds = []
    epoch_losses, epoch_test_accuracies = [], []
    for epoch in range(1, args.epochs + 1):
        totals = jnp.zeros(2, jnp.float32).block_until_ready()
        start = time.perf_counter()
        order = rng.permutation(n)
        for lo in range(0, n, batch):
            idx = order[lo:lo + batch]
            t += 1
            alpha = np.float32(common.adam_step_size(args.learning_rate, t))
            params, m, v, totals = step(params, m, v, totals, x_train[idx], y_col[idx], alpha)
        jax.block_until_ready((params, m, v, totals))
        seconds = time.perf_counter() - start
        epoch_seconds.append(seconds)
        loss_sum, correct = (float(x) for x in np.asarray(totals))
        test_accuracy = 1 - int(count_errors(params, x_test_d, y_test_d)) / len(y_test)
        epoch_losses.append(loss_sum / n)
        epoch_test_accuracies.append(test_accuracy)
        on_epoch(epoch, args.epochs, loss_sum / n, correct / n, test_accuracy, seconds, n)
    errors = int(count_errors(params, x_test_d, y_test_d))
    return common.training_result(
        test_errors=errors, test_count=len(y_test), epoch_seconds=epoch_seconds, samples_per_epoch=n,
        epoch_losses=epoch_losses, epoch_test_accuracies=epoch_test_accuracies)


def describe_jax(jax, xla_flags, pjrt_nproc):
    import jaxlib
    device = jax.devices()[0]
    details = (f"jax {jax.__version__}, jaxlib {jaxlib.__version__} ({device.platform}, "
               f"{jax.device_count()} device(s), synchronous dispatch; XLA_FLAGS='{xla_flags}', "
               f"PJRT_NPROC={pjrt_nproc})")
    # XLA's CPU backend flushes subnormal floats to zero; report what this install does, measured.
    import numpy as np
    half = jax.jit(lambda x: x * np.float32(0.5))(np.float32(1e-38))
    details += "; subnormals " + ("flushed to zero" if float(half) == 0 else "kept (IEEE)")
    return details


def main():
    args = common.parse_args(PROG, "JAX (CPU)")
    common.set_thread_env(args.threads)
    xla_flags, pjrt_nproc = set_xla_thread_env(args.threads)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import numpy as np
    except ImportError:
        common.fail(PROG, "numpy is not installed: pip install numpy")
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        common.fail(PROG, f"jax is not installed: {JAX_INSTALL}")
    jax.config.update("jax_enable_x64", False)
    # Run each step on the calling thread. With JAX's default asynchronous dispatch, the Python
    # loop (shuffle, batch gather, dispatch) runs on one core while XLA executes the previous
    # step on another: a --threads 1 run then keeps about 1.4 cores busy (measured on a 2-core
    # machine), which the single-threaded NumPy and PyTorch runs do not get. Set before the CPU
    # backend is created.
    jax.config.update("jax_cpu_enable_async_dispatch", False)

    try:
        x_train, y_train, x_test, y_test = common.load_mnist(args.data_dir, args.classes)
    except common.DataError as error:
        common.fail(PROG, str(error))

    rng = np.random.RandomState(args.seed)
    sizes = common.layer_sizes(args.hidden, len(args.classes))
    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in common.init_dense_params(rng, sizes)]
    details = describe_jax(jax, xla_flags, pjrt_nproc)
    threads = args.threads

    common.run_and_report(
        PROG, engine="jax", framework_version=jax.__version__, engine_details=details, threads=threads, args=args,
        train_count=len(y_train), test_count=len(y_test),
        run=lambda on_epoch: train(jax, jnp, np, params, rng, x_train, y_train, x_test, y_test, args, on_epoch))

if __name__ == "__main__":
    main()
