#!/usr/bin/env python3
"""PyTorch (CPU) reference of blasnet's dense model: 784 -> 128 ReLU -> 64 ReLU -> 1, BCE from logits, Keras Adam
(K >= 3 classes: K logits, nn.CrossEntropyLoss).

nn.Linear layers and autograd for the gradients; the Keras-flavoured Adam update is written
out by hand under torch.no_grad() (torch.optim.Adam puts epsilon inside the bias correction).
Run with --help for the options.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only: safe before the thread variables are set)

PROG = "pytorch_dense.py"
TORCH_INSTALL = ("pip install torch --index-url https://download.pytorch.org/whl/cpu (CPU-only wheel) "
                 "or pip install torch")


def build_model(torch, params):
    """nn.Sequential of nn.Linear (W[out, in], y = x W^T + b) and ReLU, with the given initial weights."""
    nn = torch.nn
    layers = []
    for i, (w, b) in enumerate(params):
        linear = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < len(params) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class KerasAdam:
    """m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  p <- p - lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)."""

    def __init__(self, torch, parameters, learning_rate):
        self.torch = torch
        self.parameters = list(parameters)
        self.learning_rate = learning_rate
        self.m = [torch.zeros_like(p) for p in self.parameters]
        self.v = [torch.zeros_like(p) for p in self.parameters]
        self.step_count = 0

    def zero_grad(self):
        for p in self.parameters:
            p.grad = None

    def step(self):
        b1, b2, eps = common.ADAM_BETA1, common.ADAM_BETA2, common.ADAM_EPSILON
        self.step_count += 1
        alpha = common.adam_step_size(self.learning_rate, self.step_count)
        with self.torch.no_grad():
            for p, m, v in zip(self.parameters, self.m, self.v):
                g = p.grad
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                p.addcdiv_(m, v.sqrt().add_(eps), value=-alpha)


def correct_count(z, y, binary):
    """Right predictions: the sign of the one logit against y in {0., 1.}, else argmax against the class index."""
    if binary:
        return int(((z > 0) == (y > 0.5)).sum().item())
    return int((z.argmax(dim=1) == y).sum().item())


def errors(torch, model, x, y, binary):
    with torch.inference_mode():
        z = model(x)
        if binary:
            return int(((z[:, 0] > 0) != (y > 0.5)).sum().item())
        return int((z.argmax(dim=1) != y).sum().item())


def train(torch, model, rng, x_train, y_train, x_test, y_test, args, on_epoch):
    binary = len(args.classes) == 2
    if binary:
        # mean over the batch; stable max(z,0) - z y + log1p(exp(-|z|))
        loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
        y_col = y_train.reshape(-1, 1)
    else:
        # mean over the batch of log-sum-exp(z) - z[y] (log-softmax, numerically stable)
        loss_fn = torch.nn.CrossEntropyLoss()
        y_col = y_train
    optimizer = KerasAdam(torch, model.parameters(), args.learning_rate)
    n = len(y_train)
    batch = args.batch_size
    epoch_seconds = []
    epoch_losses, epoch_test_accuracies = [], []
    model.train()
    for epoch in range(1, args.epochs + 1):
        loss_sum, correct = 0.0, 0
        start = time.perf_counter()
        # The batch order comes from the same NumPy RandomState as the initial weights, so a seed
        # gives the same weights and the same batches here as in numpy_dense.py.
        order = torch.from_numpy(rng.permutation(n))
        for lo in range(0, n, batch):
            idx = order[lo:lo + batch]
            xb, yb = x_train[idx], y_col[idx]
            z = model(xb)
            loss = loss_fn(z, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += correct_count(z.detach(), yb, binary)
        seconds = time.perf_counter() - start
        epoch_seconds.append(seconds)
        test_accuracy = 1 - errors(torch, model, x_test, y_test, binary) / len(y_test)
        epoch_losses.append(loss_sum / n)
        epoch_test_accuracies.append(test_accuracy)
        on_epoch(epoch, args.epochs, loss_sum / n, correct / n, test_accuracy, seconds, n)
    wrong = errors(torch, model, x_test, y_test, binary)
    return common.training_result(
        test_errors=wrong, test_count=len(y_test), epoch_seconds=epoch_seconds, samples_per_epoch=n,
        epoch_losses=epoch_losses, epoch_test_accuracies=epoch_test_accuracies)


def describe_torch(torch):
    details = f"torch {torch.__version__} (CPU"
    try:
        details += f" {torch.backends.cpu.get_cpu_capability()}"
    except AttributeError:
        pass
    blas = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    if blas:
        details += f", BLAS {blas.group(1)}"
    details += f", {torch.get_num_threads()} intra-op / {torch.get_num_interop_threads()} inter-op threads)"
    note = common.openblas_env_note()
    if note:
        details += f"; {note}"
    return details


def main():
    args = common.parse_args(PROG, "PyTorch (CPU)", flush_denormals_option=True)
    common.set_thread_env(args.threads)
    try:
        import numpy as np
    except ImportError:
        common.fail(PROG, "numpy is not installed: pip install numpy")
    try:
        import torch
    except ImportError:
        common.fail(PROG, f"torch is not installed: {TORCH_INSTALL}")

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:
        pass  # only settable once, before any inter-op work; the default is fine then
    torch.manual_seed(args.seed)
    if args.flush_denormals and not torch.set_flush_denormal(True):
        common.fail(PROG, "--flush-denormals: this CPU has no flush-to-zero mode (torch.set_flush_denormal)")

    try:
        x_train, y_train, x_test, y_test = common.load_mnist(args.data_dir, args.classes)
    except common.DataError as error:
        common.fail(PROG, str(error))

    rng = np.random.RandomState(args.seed)
    sizes = common.layer_sizes(args.hidden, len(args.classes))
    model = build_model(torch, common.init_dense_params(rng, sizes))
    x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
    x_test, y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
    details = describe_torch(torch)
    if args.flush_denormals:
        details += "; subnormals flushed to zero"
    threads = torch.get_num_threads()

    common.run_and_report(
        PROG, engine="pytorch", framework_version=torch.__version__, engine_details=details, threads=threads, args=args,
        train_count=len(y_train), test_count=len(y_test),
        run=lambda on_epoch: train(torch, model, rng, x_train, y_train, x_test, y_test, args, on_epoch))

if __name__ == "__main__":
    main()
