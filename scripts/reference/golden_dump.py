#!/usr/bin/env python3
"""Golden-state dump for blasnet's GoldenTests: PyTorch (float32) forward, loss, gradients and 3 Keras-Adam steps.

For the "dense" (ReLU) and "sigmoid" models, 784 -> 64 -> 32 -> 1 (half the default hidden widths, so the
file stays near 1.3 MB; the code paths are the default model's), on one batch of 8 real MNIST
rows (the first 4 zeros and the first 4 ones of the training file), writes every tensor that
Tests/BlasNetCoreTests/GoldenTests.swift checks to one safetensors file (in the style of llm.c's
test_gpt2.c). Run:

    python3 scripts/reference/golden_dump.py --data-dir data/mnist \
        --out Tests/BlasNetCoreTests/Golden/golden.safetensors

Tensors (all F32, row-major, PyTorch nn.Linear layout: weight [out, in], bias [out]):
    batch.x [8, 784]   pixels / 255 (shared by both models)
    batch.y [8]        1.0 for digit 1, 0.0 for digit 0
    {model}.init.fcN.weight / .bias    initial parameters (N = 1, 2, 3)
    {model}.logits [8]                 output logits (the [8, 1] output, flattened)
    {model}.loss [1]                   mean binary cross-entropy with logits
    {model}.grad.fcN.weight / .bias    gradients of the mean loss at the initial parameters
    {model}.step3.fcN.weight / .bias   parameters after 3 Keras-Adam steps on the same batch
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only at import time)

PROG = "golden_dump.py"
SEED = 1234
BATCH_PER_CLASS = 4
LEARNING_RATE = 1e-3
ADAM_STEPS = 3
BIAS_LIMIT = 0.05
MODELS = (("dense", "relu"), ("sigmoid", "sigmoid"))
# The golden models' sizes (GoldenTests.layerSizes): the real input and output, narrower hidden layers.
LAYER_SIZES = (common.INPUT_SIZE, 64, 32, 1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="directory holding the uncompressed MNIST training IDX files "
                             "(default: $BLASNET_DATA_DIR, else data/mnist in the repository)")
    parser.add_argument("--out", metavar="FILE",
                        default=os.path.join(common.REPO_ROOT, "Tests", "BlasNetCoreTests", "Golden",
                                             "golden.safetensors"),
                        help="safetensors file to write (default: Tests/BlasNetCoreTests/Golden/golden.safetensors)")
    return parser.parse_args(argv)


def load_batch(data_dir):
    """x [8, 784] float32 in [0, 1] and y [8] (0.0 for digit 0, 1.0 for digit 1): the first four
    zeros, then the first four ones, of the training file in file order."""
    import numpy as np
    directory = common.resolve_data_dir(data_dir)
    images = common._read_idx(os.path.join(directory, common.TRAIN_IMAGES), 0x00000803, 3)
    labels = common._read_idx(os.path.join(directory, common.TRAIN_LABELS), 0x00000801, 1)
    zeros = np.flatnonzero(labels == 0)[:BATCH_PER_CLASS]
    ones = np.flatnonzero(labels == 1)[:BATCH_PER_CLASS]
    if len(zeros) < BATCH_PER_CLASS or len(ones) < BATCH_PER_CLASS:
        raise common.DataError(f"fewer than {BATCH_PER_CLASS} zeros or ones in {directory}")
    rows = np.concatenate([zeros, ones])
    x = images[rows].reshape(-1, 784).astype(np.float32) / np.float32(255.0)
    y = (labels[rows] == 1).astype(np.float32)
    return np.ascontiguousarray(x), y, rows


def init_params(torch, generator):
    """[(W [out, in], b [out])]: Glorot-uniform weights, uniform ±BIAS_LIMIT biases (nonzero, so the bias
    paths are tested)."""
    params = []
    for fan_in, fan_out in zip(LAYER_SIZES[:-1], LAYER_SIZES[1:]):
        limit = (6.0 / (fan_in + fan_out)) ** 0.5
        w = torch.empty(fan_out, fan_in, dtype=torch.float32).uniform_(-limit, limit, generator=generator)
        b = torch.empty(fan_out, dtype=torch.float32).uniform_(-BIAS_LIMIT, BIAS_LIMIT, generator=generator)
        params.append((w, b))
    return params


def forward(torch, params, x, activation):
    hidden = torch.relu if activation == "relu" else torch.sigmoid
    a = x
    for index, (w, b) in enumerate(params):
        a = torch.nn.functional.linear(a, w, b)
        if index < len(params) - 1:
            a = hidden(a)
    return a.reshape(-1)  # [8, 1] -> [8]


def loss_and_grads(torch, params, x, y, activation):
    leaves = [t.detach().clone().requires_grad_(True) for pair in params for t in pair]
    pairs = list(zip(leaves[0::2], leaves[1::2]))
    logits = forward(torch, pairs, x, activation)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="mean")
    grads = torch.autograd.grad(loss, leaves)
    return logits.detach(), loss.detach(), list(zip(grads[0::2], grads[1::2]))


def keras_adam(torch, params, x, y, activation, steps):
    """`steps` Keras-Adam updates on the same batch, written out by hand (torch.optim.Adam puts ε inside
    the bias correction): m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², p ← p − rate·m/(√v + ε),
    rate = lr·√(1−β2ᵗ)/(1−β1ᵗ) computed in float64, applied in float32 (as blasnet does)."""
    current = [(w.clone(), b.clone()) for w, b in params]
    flat = [t for pair in current for t in pair]
    m = [torch.zeros_like(t) for t in flat]
    v = [torch.zeros_like(t) for t in flat]
    beta1 = torch.tensor(common.ADAM_BETA1, dtype=torch.float32)
    beta2 = torch.tensor(common.ADAM_BETA2, dtype=torch.float32)
    epsilon = torch.tensor(common.ADAM_EPSILON, dtype=torch.float32)
    for step in range(1, steps + 1):
        _, _, grads = loss_and_grads(torch, current, x, y, activation)
        rate = torch.tensor(common.adam_step_size(LEARNING_RATE, step), dtype=torch.float32)
        with torch.no_grad():
            for i, g in enumerate(t for pair in grads for t in pair):
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                flat[i] -= rate * m[i] / (v[i].sqrt() + epsilon)
    return list(zip(flat[0::2], flat[1::2]))


def main(argv=None):
    args = parse_args(argv)
    common.set_thread_env(1)
    try:
        import numpy as np
        import torch
        from safetensors.torch import save_file
    except ImportError as error:
        common.fail(PROG, f"{error.name} is missing: pip install torch safetensors numpy "
                          "(CPU wheel: pip install torch --index-url https://download.pytorch.org/whl/cpu)")
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    try:
        x_np, y_np, rows = load_batch(args.data_dir)
    except common.DataError as error:
        common.fail(PROG, str(error))
    x = torch.from_numpy(x_np)
    y = torch.from_numpy(y_np)

    tensors = {"batch.x": x, "batch.y": y}
    for model, activation in MODELS:
        params = init_params(torch, generator)
        logits, loss, grads = loss_and_grads(torch, params, x, y, activation)
        stepped = keras_adam(torch, params, x, y, activation, ADAM_STEPS)
        tensors[f"{model}.logits"] = logits
        tensors[f"{model}.loss"] = loss.reshape(1)
        for n, ((w, b), (gw, gb), (sw, sb)) in enumerate(zip(params, grads, stepped), start=1):
            for group, weight, bias in (("init", w, b), ("grad", gw, gb), ("step3", sw, sb)):
                tensors[f"{model}.{group}.fc{n}.weight"] = weight
                tensors[f"{model}.{group}.fc{n}.bias"] = bias
        print(f"{model}: loss {loss.item():.6f}, logits {[round(v, 4) for v in logits.tolist()]}")

    tensors = {name: t.detach().to(torch.float32).contiguous() for name, t in tensors.items()}
    metadata = {
        "script": "scripts/reference/golden_dump.py",
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "seed": str(SEED),
        "models": (f"dense: {'-'.join(map(str, LAYER_SIZES))} ReLU hidden; "
                   f"sigmoid: {'-'.join(map(str, LAYER_SIZES))} sigmoid hidden; logit output"),
        "batch": f"MNIST train rows {','.join(str(r) for r in rows.tolist())} (first 4 zeros, first 4 ones); "
                 "x = pixels/255, y = 1 for digit 1",
        "init": f"Glorot-uniform weights, biases uniform +-{BIAS_LIMIT}",
        "loss": "binary_cross_entropy_with_logits, mean over the batch",
        "layout": "float32 row-major; weight [out, in] (nn.Linear); logits [8]; loss [1]",
        "adam": (f"Keras: lr {LEARNING_RATE}, beta1 {common.ADAM_BETA1}, beta2 {common.ADAM_BETA2}, "
                 f"epsilon {common.ADAM_EPSILON}, {ADAM_STEPS} steps on the same batch; "
                 "p -= lr*sqrt(1-beta2^t)/(1-beta1^t) * m/(sqrt(v)+epsilon)"),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(tensors, args.out, metadata=metadata)
    print(f"wrote {len(tensors)} tensors, {os.path.getsize(args.out)} bytes, to {args.out}")


if __name__ == "__main__":
    main()
