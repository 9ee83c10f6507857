#!/usr/bin/env python3
"""Writes Metis-format inputs (profile JSONs, hostfile, clusterfile) for the Metis Table 1 rows.

Metis' repository ships only A100 samples of its GPT "1.5B" at 10 layers, so these profiles are
ours: a roofline of each GPU's fp16 tensor peak and GEMM efficiency from data/gpus/*.json (FLOPs of
a GPT block forward + backward, 3 x (24 s h^2 + 4 s^2 h) per sample, split over tp), not a proteus
simulation and not a measurement. Memory per layer: 16 bytes per parameter (fp16 weights and
gradients, fp32 Adam states and master weights) over tp plus 34 s h bytes of activations per sample.
Usage: scripts/gen_metis_profiles.py OUT_DIR
"""
import json
import os
import sys

HIDDEN, SEQ, VOCAB = 4096, 1024, 51200
ROWS = [(10, 16), (20, 32), (20, 64), (40, 128)]  # (layers, GPUs of each type), REFERENCE.md section 5
TYPES = {"A100": "A100-SXM4-80GB", "V100": "V100-SXM2-32GB"}


def gpu(name):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "data", "gpus", name + ".json")) as f:
        return json.load(f)


def profile(spec, layers, tp, bs):
    rate = spec["peak_tflops"]["fp16"] * 1e12 * spec["efficiency"]["gemm"]
    block_flops = 3 * (24 * SEQ * HIDDEN ** 2 + 4 * SEQ ** 2 * HIDDEN) * bs / tp
    head_flops = 3 * 2 * SEQ * HIDDEN * VOCAB * bs / tp
    block_ms = block_flops / rate * 1e3
    times = [0.05 * bs] + [block_ms] * (layers - 2) + [head_flops / rate * 1e3]
    block_params = 12 * HIDDEN ** 2 + 13 * HIDDEN
    params = [VOCAB * HIDDEN * 2] + [block_params * 2] * (layers - 2) + [VOCAB * HIDDEN * 2]
    act_mb = 34 * SEQ * HIDDEN * bs / tp / 2 ** 20
    memory = [p / 2 * 16 / tp / 2 ** 20 + act_mb for p in params]
    return {
        "model": {"model_name": "GPT", "num_layers": layers,
                  "parameters": {"total_parameters_bytes": sum(params), "parameters_per_layer_bytes": params}},
        "execution_time": {"total_time_ms": sum(times) * 1.1, "forward_backward_time_ms": sum(times) * 1.02,
                           "batch_generator_time_ms": 0.5, "layernorm_grads_all_reduce_time_ms": 0.0,
                           "embedding_grads_all_reduce_time_ms": 0.0,
                           "optimizer_time_ms": 16.0 * layers / 10, "layer_compute_total_ms": times},
        "execution_memory": {"total_memory_mb": sum(memory), "layer_memory_total_mb": memory},
    }


def main(out):
    for layers in sorted({r[0] for r in ROWS}):
        d = os.path.join(out, f"profiles-{layers}l")
        os.makedirs(d, exist_ok=True)
        for t, name in TYPES.items():
            for tp in (1, 2, 4):
                for bs in (1, 2, 4):
                    with open(os.path.join(d, f"DeviceType.{t}_tp{tp}_bs{bs}.json"), "w") as f:
                        json.dump(profile(gpu(name), layers, tp, bs), f, indent=1)
    for _, per_type in sorted({(0, r[1]) for r in ROWS}):
        d = os.path.join(out, f"cluster-{per_type}+{per_type}")
        os.makedirs(d, exist_ok=True)
        nodes = per_type // 4
        hosts = [f"10.0.0.{i + 1}" for i in range(2 * nodes)]
        with open(os.path.join(d, "hostfile"), "w") as f:
            f.writelines(f"{h} slots=4\n" for h in hosts)
        cluster = {}
        for i, h in enumerate(hosts):
            a100 = i < nodes
            cluster[h] = {"instance_type": "A100" if a100 else "V100",
                          "inter_bandwidth": 25e9, "intra_bandwidth": 300e9 if a100 else 150e9,
                          "memory": 80 if a100 else 32}
        with open(os.path.join(d, "clusterfile.json"), "w") as f:
            json.dump(cluster, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
