#!/usr/bin/env python3
"""Cross-check a blasnet model file with the reference safetensors library and numpy only.

Loads FILE with safetensors.numpy.load_file, runs the network it describes (layer_sizes, e.g. 784 -> 128 -> 64
-> 1 or -> 10; fcN.weight [out, in], fcN.bias [out], as torch.nn.Linear: y = x @ W.T + b) on the MNIST test
images of the model's classes (class_labels), and prints the test accuracy next to the one recorded in the
metadata.

    scripts/check_safetensors.py model.safetensors [--data-dir DIR] [--require-match]

Needs: pip install safetensors numpy. Exit status 0 on success; 1 with --require-match if the accuracy
differs from the metadata's test_accuracy; 2 on unusable input.
"""
import argparse
import os
import re
import struct
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

HIDDEN = {"relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
MODEL_ACTIVATION = {"dense": "relu", "sigmoid": "sigmoid"}


def fail(message):
    print(f"check_safetensors: {message}", file=sys.stderr)
    sys.exit(2)


def read_idx(path, magic):
    """An IDX file (big-endian header, unsigned bytes) as a numpy array."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        fail(f"{path}: {error.strerror}")
    rank = magic & 0xFF
    if len(data) < 4 + 4 * rank or struct.unpack(">I", data[:4])[0] != magic:
        fail(f"{path}: not an IDX file with magic {magic}")
    shape = struct.unpack(f">{rank}I", data[4:4 + 4 * rank])
    payload = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    if payload.size != int(np.prod(shape)):
        fail(f"{path}: header says {shape}, file holds {payload.size} bytes")
    return payload.reshape(shape)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_data = os.environ.get("BLASNET_DATA_DIR") or os.path.join(here, "..", "data", "mnist")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--data-dir", default=default_data)
    parser.add_argument("--require-match", action="store_true",
                        help="exit 1 unless the accuracy equals the metadata's test_accuracy")
    args = parser.parse_args()

    tensors = load_file(args.file)
    with safe_open(args.file, framework="numpy") as handle:
        metadata = handle.metadata() or {}
    model = metadata.get("model")
    if model not in MODEL_ACTIVATION:
        fail(f"{args.file}: metadata 'model' is {model!r}, expected one of {sorted(MODEL_ACTIVATION)}")
    activation = metadata.get("hidden_activation", MODEL_ACTIVATION[model])
    if activation not in HIDDEN:
        fail(f"{args.file}: unknown hidden_activation {activation!r}")
    sizes = [int(s) for s in metadata.get("layer_sizes", "784,128,64,1").split(",")]
    layers = []
    for index in range(len(sizes) - 1):
        weight, bias = tensors.get(f"fc{index + 1}.weight"), tensors.get(f"fc{index + 1}.bias")
        if weight is None or bias is None:
            fail(f"{args.file}: missing fc{index + 1}.weight or fc{index + 1}.bias")
        if weight.shape != (sizes[index + 1], sizes[index]) or bias.shape != (sizes[index + 1],):
            fail(f"{args.file}: fc{index + 1} has shapes {weight.shape}, {bias.shape}")
        if weight.dtype != np.float32 or bias.dtype != np.float32:
            fail(f"{args.file}: fc{index + 1} is {weight.dtype}, expected float32")
        layers.append((weight, bias))

    # class_labels (older files: classes) lists the data's label of each class, in class order.
    listed = metadata.get("class_labels", metadata.get("classes", "0,1"))
    digits = [int(d) for d in re.findall(r"\d+", listed)]
    if len(digits) < 2 or len(set(digits)) != len(digits):
        fail(f"{args.file}: cannot read two or more distinct classes from metadata {listed!r}")
    if len(digits) != max(2, sizes[-1]):
        fail(f"{args.file}: {len(digits)} class labels for an output of {sizes[-1]}")
    images = read_idx(os.path.join(args.data_dir, "t10k-images-idx3-ubyte"), 0x803)
    labels = read_idx(os.path.join(args.data_dir, "t10k-labels-idx1-ubyte"), 0x801)
    keep = np.isin(labels, digits)
    x = images[keep].reshape(-1, sizes[0]).astype(np.float32) / np.float32(255)  # input_scaling pixel/255
    class_of = {label: index for index, label in enumerate(digits)}
    y = np.array([class_of[int(label)] for label in labels[keep]], dtype=np.int64)  # class i = i-th label

    for index, (weight, bias) in enumerate(layers):
        x = x @ weight.T + bias
        if index < len(layers) - 1:
            x = HIDDEN[activation](x).astype(np.float32)
    if sizes[-1] == 1:
        predicted = (x[:, 0] > 0).astype(np.int64)  # sigmoid(logit) > 0.5
    else:
        predicted = np.argmax(x, axis=1)  # softmax's arg max is the logits' arg max (first on ties)
    errors = int((predicted != y).sum())
    accuracy = 1 - errors / len(y)
    print(f"{args.file}: {model} model ({activation} hidden), classes {','.join(map(str, digits))}: "
          f"test accuracy {accuracy * 100:.4f}% ({errors} errors of {len(y)})")
    recorded = metadata.get("test_accuracy")
    if recorded is None:
        print("metadata has no test_accuracy to compare with")
        return 0
    difference = abs(float(recorded) - accuracy) * len(y)
    verdict = "matches" if difference < 0.5 else f"differs by {difference:.0f} sample(s)"
    print(f"metadata test_accuracy {float(recorded) * 100:.4f}%: {verdict}")
    return 1 if args.require_match and difference >= 0.5 else 0


if __name__ == "__main__":
    sys.exit(main())
