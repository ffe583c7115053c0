#!/usr/bin/env python3
"""NumPy reference of blasnet's dense model: 784 -> 128 ReLU -> 64 ReLU -> 1, BCE from logits, Keras Adam
(K >= 3 classes: K logits, softmax cross-entropy).

Forward and backward are written out by hand; the matrix products go to the BLAS NumPy
was built with (OpenBLAS in the PyPI wheels). Run with --help for the options.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only: safe before the thread variables are set)

PROG = "numpy_dense.py"


class DenseModel:
    """The layers' parameters as views into one flat float32 buffer, so Adam is a few whole-array ops.

    One output logit (two classes): sigmoid + binary cross-entropy, y float 0/1 (n x 1).
    K >= 3 logits: softmax + categorical cross-entropy, y int class indices (n)."""

    def __init__(self, np, params, learning_rate):
        self.np = np
        self.learning_rate = learning_rate
        self.binary = params[-1][0].shape[0] == 1
        total = sum(w.size + b.size for w, b in params)
        f32 = np.float32
        self.flat = np.empty(total, dtype=f32)
        self.grad = np.zeros(total, dtype=f32)
        self.m = np.zeros(total, dtype=f32)
        self.v = np.zeros(total, dtype=f32)
        self.tmp = np.empty(total, dtype=f32)
        self.W, self.b, self.gW, self.gb = [], [], [], []
        offset = 0
        for w, b in params:
            for source, values, grads in ((w, self.W, self.gW), (b, self.b, self.gb)):
                end = offset + source.size
                view = self.flat[offset:end].reshape(source.shape)
                view[...] = source
                values.append(view)
                grads.append(self.grad[offset:end].reshape(source.shape))
                offset = end
        self.step = 0

    def forward(self, x):
        """[x, h1, ..., h_last_hidden], logits z: the inputs of every layer, then the output."""
        np = self.np
        inputs = [x]
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            h = inputs[-1] @ W.T
            h += b
            if i == last:
                return inputs, h
            np.maximum(h, 0, out=h)
            inputs.append(h)

    def loss_and_gradient(self, z, y):
        """(mean loss over the batch, d loss / d z)."""
        np = self.np
        n = z.shape[0]
        if self.binary:
            # Binary cross-entropy from logits, stable form: max(z,0) - z*y + log1p(exp(-|z|)).
            e = np.exp(-np.abs(z))
            loss = float(np.mean(np.maximum(z, 0) - z * y + np.log1p(e)))
            # d loss / d z = (sigmoid(z) - y) / n, with sigmoid from the same exp(-|z|).
            sigmoid = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
            dz = sigmoid - y
        else:
            # Softmax cross-entropy, stable: with s = z - max(z), loss = log(sum(exp(s))) - s[y].
            rows = np.arange(n)
            s = z - z.max(axis=1, keepdims=True)
            e = np.exp(s)
            total = e.sum(axis=1, keepdims=True)
            loss = float(np.mean(np.log(total[:, 0]) - s[rows, y]))
            # d loss / d z = (softmax(z) - onehot(y)) / n.
            dz = e / total
            dz[rows, y] -= 1
        dz *= np.float32(1.0 / n)
        return loss, dz

    def train_step(self, x, y):
        """One Adam step on the batch (x: n x 784; y: n x 1 floats for one logit, n class indices for K).
        Returns (mean loss, correct predictions)."""
        np = self.np
        inputs, z = self.forward(x)
        loss, dz = self.loss_and_gradient(z, y)
        if self.binary:
            correct = int(np.count_nonzero((z > 0) == (y > 0.5)))
        else:
            correct = int(np.count_nonzero(z.argmax(axis=1) == y))

        d = dz
        for i in range(len(self.W) - 1, -1, -1):
            h = inputs[i]
            np.matmul(d.T, h, out=self.gW[i])
            np.sum(d, axis=0, out=self.gb[i])
            if i > 0:
                d = d @ self.W[i]
                d *= h > 0

        self.adam()
        return loss, correct

    def adam(self):
        """Keras Adam: m, v moments; p -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)."""
        np = self.np
        b1, b2, eps = common.ADAM_BETA1, common.ADAM_BETA2, common.ADAM_EPSILON
        self.step += 1
        alpha = common.adam_step_size(self.learning_rate, self.step)
        g, m, v, tmp = self.grad, self.m, self.v, self.tmp
        np.multiply(g, 1 - b1, out=tmp)
        m *= b1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v *= b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= alpha
        self.flat -= tmp

    def errors(self, x, y):
        _, z = self.forward(x)
        if self.binary:
            return int(self.np.count_nonzero((z[:, 0] > 0) != (y > 0.5)))
        return int(self.np.count_nonzero(z.argmax(axis=1) != y))


def train(np, model, rng, x_train, y_train, x_test, y_test, args, on_epoch):
    n = len(y_train)
    y_col = y_train.reshape(-1, 1) if model.binary else y_train
    batch = args.batch_size
    epoch_seconds = []
    epoch_losses, epoch_test_accuracies = [], []
    for epoch in range(1, args.epochs + 1):
        loss_sum, correct = 0.0, 0
        start = time.perf_counter()
        order = rng.permutation(n)
        for lo in range(0, n, batch):
            idx = order[lo:lo + batch]
            loss, right = model.train_step(x_train[idx], y_col[idx])
            loss_sum += loss * len(idx)
            correct += right
        seconds = time.perf_counter() - start
        epoch_seconds.append(seconds)
        test_accuracy = 1 - model.errors(x_test, y_test) / len(y_test)
        epoch_losses.append(loss_sum / n)
        epoch_test_accuracies.append(test_accuracy)
        on_epoch(epoch, args.epochs, loss_sum / n, correct / n, test_accuracy, seconds, n)
    errors = model.errors(x_test, y_test)
    return common.training_result(
        test_errors=errors, test_count=len(y_test), epoch_seconds=epoch_seconds, samples_per_epoch=n,
        epoch_losses=epoch_losses, epoch_test_accuracies=epoch_test_accuracies)


def describe_blas(np, requested_threads):
    """(engine details, thread count of the BLAS pool) from threadpoolctl when installed."""
    info = common.blas_info()
    details = f"numpy {np.__version__}"
    threads = requested_threads
    if info is None:
        details += ", BLAS unknown (pip install threadpoolctl to report it)"
    else:
        blas = [lib for lib in info if lib.get("user_api") == "blas"]
        if blas:
            lib = blas[0]
            threads = lib.get("num_threads", requested_threads)
            extras = [x for x in (lib.get("architecture"), lib.get("threading_layer")) if x]
            details += f", BLAS {lib.get('internal_api')} {lib.get('version')}"
            if extras:
                details += f" ({', '.join(extras)})"
        else:
            details += ", no BLAS library found by threadpoolctl"
    note = common.openblas_env_note()
    if note:
        details += f"; {note}"
    return details, threads


def main():
    args = common.parse_args(PROG, "NumPy")
    common.set_thread_env(args.threads)
    try:
        import numpy as np
    except ImportError:
        common.fail(PROG, "numpy is not installed: pip install numpy")

    try:
        x_train, y_train, x_test, y_test = common.load_mnist(args.data_dir, args.classes)
    except common.DataError as error:
        common.fail(PROG, str(error))

    rng = np.random.RandomState(args.seed)
    sizes = common.layer_sizes(args.hidden, len(args.classes))
    model = DenseModel(np, common.init_dense_params(rng, sizes), args.learning_rate)
    details, threads = describe_blas(np, args.threads)

    common.run_and_report(
        PROG, engine="numpy", framework_version=np.__version__, engine_details=details, threads=threads, args=args,
        train_count=len(y_train), test_count=len(y_test),
        run=lambda on_epoch: train(np, model, rng, x_train, y_train, x_test, y_test, args, on_epoch))

if __name__ == "__main__":
    main()
