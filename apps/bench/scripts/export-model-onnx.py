"""Export a causal LM checkpoint (config.json + F32 model.safetensors) to ONNX, for the bench's
onnxruntime-node peer on the same weights.

    /usr/bin/python3 export-model-onnx.py <checkpoint dir> <out.onnx> <prompt length>

The model is packages/models/fixtures/reference.py's port of Hugging Face's modeling files
(GPT-2, Llama), run in float32; the graph maps int32 ids [1, L] to the last position's logits
[1, vocab], what prefill produces before the first new token. L is fixed at export: the traced
reference bakes sequence lengths into its position and GQA reshapes.
"""

import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "packages", "models", "fixtures"))
import reference as ref  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {entry['dtype']}; the exporter reads F32")
        begin, end = entry["data_offsets"]
        out[ref.strip(name)] = torch.frombuffer(
            bytearray(data[begin:end]), dtype=torch.float32
        ).reshape(entry["shape"])
    return out


class LastLogits(torch.nn.Module):
    def __init__(self, config, weights):
        super().__init__()
        self.config = config
        self.names = list(weights)
        for i, tensor in enumerate(weights.values()):
            self.register_buffer(f"w{i}", tensor)

    def forward(self, ids):
        w = {name: getattr(self, f"w{i}") for i, name in enumerate(self.names)}
        return ref.causal_lm(self.config, w, ids.long(), None)["logits"][:, -1]


def main():
    directory, out, length = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = json.load(open(os.path.join(directory, "config.json")))
    model = LastLogits(config, load_safetensors(os.path.join(directory, "model.safetensors")))
    ids = torch.zeros((1, length), dtype=torch.int32)
    with torch.no_grad():
        torch.onnx.export(model, (ids,), out, input_names=["ids"], output_names=["logits"],
                          opset_version=17)


if __name__ == "__main__":
    main()
