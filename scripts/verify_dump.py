#!/usr/bin/env python3
"""Recomputes an `icl check --dump` file in NumPy (float64) and compares it with the device's results.

usage: python3 scripts/verify_dump.py DUMP.safetensors

The model (PAPER.md §2): for each prompt P = [p_1 … p_l p_q] (rows of `prompts`),
  u = W_Q p_q, s_i = p_i · (W_Kᵀ u), attn = softmax(s over the l context columns), c = Σ attn_i p_i,
  F = Σ_n a_n ReLU((W_O W_V c)_n), loss = mean max(0, 1 − z F).
Exits 1 if F, loss or any gradient differs by more than 1e-4 of its scale.
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def main(path):
    t = {k: v.astype(np.float64) for k, v in load_file(path).items()}
    with safe_open(path, framework="np") as f:
        config = json.loads(f.metadata()["config"])
    P, z = t["prompts"], t["labels"]
    WQ, WK, WV, WO, a = t["W_Q"], t["W_K"], t["W_V"], t["W_O"], t["a"]
    B, cols, d = P.shape
    L = cols if config.get("attendQuery") else cols - 1
    ctx, pq = P[:, :L, :], P[:, -1, :]
    u = pq @ WQ.T                                  # [B, d]
    v = u @ WK                                     # [B, d]  v = W_Kᵀ u
    s = np.einsum("bld,bd->bl", ctx, v)            # [B, L]
    s = s - s.max(axis=1, keepdims=True)
    attn = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    c = np.einsum("bl,bld->bd", attn, ctx)         # [B, d]
    h = c @ WV.T
    g = h @ WO.T                                   # [B, m]
    F = np.maximum(g, 0) @ a
    margin = z * F
    loss = np.maximum(0, 1 - margin).mean()
    dF = np.where(margin < 1, -z / B, 0.0)
    dg = (g > 0) * dF[:, None] * a[None, :]
    dWO = dg.T @ h
    dh = dg @ WO
    dWV = dh.T @ c
    dc = dh @ WV
    dattn = np.einsum("bld,bd->bl", ctx, dc)
    ds = attn * (dattn - (attn * dattn).sum(axis=1, keepdims=True))
    dv = np.einsum("bl,bld->bd", ds, ctx)
    dWK = u.T @ dv
    du = dv @ WK.T
    dWQ = du.T @ pq
    ours = {"F": F, "loss": np.array([loss]), "grad.W_Q": dWQ, "grad.W_K": dWK, "grad.W_V": dWV, "grad.W_O": dWO}
    bad = 0
    for name, ref in ours.items():
        dev = t[name]
        scale = max(np.abs(ref).max(), 1e-30)
        err = np.abs(dev - ref).max() / scale
        ok = err <= 1e-4
        bad += not ok
        print(f"{name:9s} max error / scale = {err:.2e}  {'ok' if ok else 'MISMATCH'}")
    if bad:
        print(f"FAIL: {bad} tensor(s) disagree with the NumPy recomputation")
        return 1
    print("OK: the dump agrees with an independent NumPy recomputation")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
