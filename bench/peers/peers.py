#!/usr/bin/env python3
"""Peer benchmark: the engine's model, data and SGD step in PyTorch (eager) and JAX (jit).

Optional; not part of the build or tests. See README.md in this folder.

Same science as PAPER.md sections 1-3: d_X = 30 (M1 = 6 IDR + M2 = 24 IDI patterns from a seeded random
orthonormal basis), d_Y = 10, d = 40, 18 training tasks {(a, (a+s) mod 6) : s in {1,2,3}}, alpha = 0.8,
one-layer one-head softmax attention over the l context columns, ReLU MLP with fixed a = +-1/sqrt(m),
hinge loss, plain SGD with lr 1.0, fresh prompts sampled on the framework's device inside every step.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np

# ----------------------------------------------------------------------------- shared constants


class Cfg:
    def __init__(self, d_x=30, d_y=10, m1=6, l=20, m=64, alpha=0.8, kappa=0.5, delta=0.1, xi=0.01,
                 lr=1.0, seed=0):
        assert d_x > m1, "d_X must exceed M1 (M2 = d_X - M1 IDI patterns)"
        self.d_x, self.d_y, self.m1, self.m2 = d_x, d_y, m1, d_x - m1
        self.d = d_x + d_y
        self.l, self.m = l, m
        self.alpha, self.kappa, self.delta, self.xi, self.lr, self.seed = alpha, kappa, delta, xi, lr, seed


def make_constants(c):
    """Patterns, q, task tables, a: host-side numpy, seeded. Identical for both frameworks."""
    rng = np.random.default_rng(c.seed)
    basis, _ = np.linalg.qr(rng.standard_normal((c.d_x, c.d_x)))  # columns orthonormal
    basis = basis.T.astype(np.float32)  # rows orthonormal
    mu, nu = basis[: c.m1], basis[c.m1:]  # [M1, d_X], [M2, d_X]; ||mu|| = beta = 1
    q = rng.standard_normal(c.d_y)
    q = (q / np.linalg.norm(q)).astype(np.float32)
    train = sorted({(a, (a + s) % c.m1) for a in range(c.m1) for s in (1, 2, 3)})
    test = [(a, b) for a in range(c.m1) for b in range(c.m1) if a != b and (a, b) not in set(train)]

    def tables(tasks):
        ab = np.array(tasks, dtype=np.int64)  # [T, 2]
        others = np.array([[j for j in range(c.m1) if j not in t] for t in tasks], dtype=np.int64)
        return ab, others  # others: [T, M1-2]

    a = np.concatenate([np.full(c.m // 2, 1.0), np.full(c.m - c.m // 2, -1.0)]) / math.sqrt(c.m)
    w_o = (rng.standard_normal((c.m, c.d)) * c.xi).astype(np.float32)
    return dict(mu=mu, nu=nu, q=q, train=tables(train), test=tables(test), a=a.astype(np.float32),
                w_o=w_o, n_train=len(train), n_test=len(test))


# ----------------------------------------------------------------------------- timing


def measure(step, sync, B, warmup, target_s, max_steps, repeats):
    """step() runs one step (maybe asynchronously); sync() waits for the last one. Returns median prompts/s."""
    n, t0 = 0, time.perf_counter()
    while n < warmup or (time.perf_counter() - t0 < 0.25 * target_s and n < max_steps):  # warm-up
        step()
        n += 1
    sync()
    n, t0 = 0, time.perf_counter()
    while True:  # calibrate: run synced steps for ~20% of the target time
        step()
        sync()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= 0.2 * target_s or n >= max_steps:
            break
    steps = int(min(max_steps, max(3, math.ceil(target_s * n / dt))))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        rates.append(steps * B / (time.perf_counter() - t0))
    return statistics.median(rates), steps


# ----------------------------------------------------------------------------- PyTorch (eager)


def torch_backend(c, K, device_arg):
    import torch

    torch.set_num_threads(os.cpu_count())
    dev = torch.device(device_arg or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(c.seed)
    T = lambda x: torch.as_tensor(x, device=dev)  # noqa: E731
    mu, nu, q, a = T(K["mu"]), T(K["nu"]), T(K["q"]), T(K["a"])
    tabs = {k: (T(K[k][0]), T(K[k][1])) for k in ("train", "test")}

    def sample(B, l, which="train", alpha=c.alpha):
        ab, others = tabs[which]
        t = torch.randint(0, ab.shape[0], (B,), device=dev)
        ta, tb, oth = ab[t, 0:1], ab[t, 1:2], others[t]  # [B,1], [B,1], [B,M1-2]
        u = torch.rand(B, l, device=dev)
        is_a, is_b = u < alpha / 2, (u >= alpha / 2) & (u < alpha)
        other = oth.gather(1, torch.randint(0, c.m1 - 2, (B, l), device=dev))
        coin = torch.randint(0, 2, (B, l), device=dev).float() * 2 - 1
        pat = torch.where(is_a, ta, torch.where(is_b, tb, other))
        lab = torch.where(is_a, 1.0, torch.where(is_b, -1.0, coin))
        qa = torch.rand(B, 1, device=dev) < 0.5
        pat = torch.cat([pat, torch.where(qa, ta, tb)], 1)  # [B, l+1]
        z = torch.where(qa[:, 0], 1.0, -1.0)
        k = torch.randint(0, c.m2, (B, l + 1), device=dev)
        kap = (torch.rand(B, l + 1, device=dev) * 2 - 1) * c.kappa
        x = mu[pat] + kap[..., None] * nu[k]  # [B, l+1, d_X]
        y = torch.cat([lab, torch.zeros(B, 1, device=dev)], 1)[..., None] * q  # [B, l+1, d_Y]
        return torch.cat([x, y], -1), z  # [B, l+1, d], [B]

    def forward(W, P):
        WQ, WK, WV, WO = W
        ctx, pq = P[:, :-1], P[:, -1]
        v = (pq @ WQ.T) @ WK  # W_K^T W_Q p_q
        attn = torch.softmax(torch.einsum("bld,bd->bl", ctx, v), -1)
        cvec = torch.einsum("bl,bld->bd", attn, ctx)
        return torch.relu(cvec @ WV.T @ WO.T) @ a

    def init():
        eye = torch.eye(c.d, device=dev) * c.delta
        return [eye.clone().requires_grad_(), eye.clone().requires_grad_(), eye.clone().requires_grad_(),
                T(K["w_o"]).clone().requires_grad_()]

    def hinge(F, z):
        return torch.relu(1 - z * F).mean()

    def make_train(W, B, l):
        opt = torch.optim.SGD(W, lr=c.lr)

        def step():
            P, z = sample(B, l)
            loss = hinge(forward(W, P), z)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss

        return step

    def make_infer(W, B, l):
        def step():
            with torch.inference_mode():
                P, _ = sample(B, l)
                return forward(W, P)

        return step

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def error(W, n, l, which):
        with torch.no_grad():
            P, z = sample(n, l, which)
            return (torch.sign(forward(W, P)) != z).float().mean().item()

    info = dict(framework="torch", version=torch.__version__, device=str(dev),
                note=f"threads={torch.get_num_threads()}")
    return dict(info=info, init=init, make_train=make_train, make_infer=make_infer, sync=sync,
                loss_of=lambda s: s().item(), error=error, advance=lambda W, st: W)


# ----------------------------------------------------------------------------- JAX (jit)


def jax_backend(c, K, device_arg):
    import jax
    import jax.numpy as jnp

    A = jnp.asarray
    mu, nu, q, a = A(K["mu"]), A(K["nu"]), A(K["q"]), A(K["a"])
    tabs = {k: (A(K[k][0], dtype=jnp.int32), A(K[k][1], dtype=jnp.int32)) for k in ("train", "test")}

    def sample(key, B, l, which="train", alpha=c.alpha):
        ab, others = tabs[which]
        ks = jax.random.split(key, 8)
        t = jax.random.randint(ks[0], (B,), 0, ab.shape[0])
        ta, tb, oth = ab[t, 0:1], ab[t, 1:2], others[t]
        u = jax.random.uniform(ks[1], (B, l))
        is_a, is_b = u < alpha / 2, (u >= alpha / 2) & (u < alpha)
        other = jnp.take_along_axis(oth, jax.random.randint(ks[2], (B, l), 0, c.m1 - 2), 1)
        coin = jax.random.rademacher(ks[3], (B, l), dtype=jnp.float32)
        pat = jnp.where(is_a, ta, jnp.where(is_b, tb, other))
        lab = jnp.where(is_a, 1.0, jnp.where(is_b, -1.0, coin))
        qa = jax.random.bernoulli(ks[4], 0.5, (B, 1))
        pat = jnp.concatenate([pat, jnp.where(qa, ta, tb)], 1)
        z = jnp.where(qa[:, 0], 1.0, -1.0)
        k = jax.random.randint(ks[5], (B, l + 1), 0, c.m2)
        kap = jax.random.uniform(ks[6], (B, l + 1), minval=-c.kappa, maxval=c.kappa)
        x = mu[pat] + kap[..., None] * nu[k]
        y = jnp.concatenate([lab, jnp.zeros((B, 1))], 1)[..., None] * q
        return jnp.concatenate([x, y], -1), z

    def forward(W, P):
        ctx, pq = P[:, :-1], P[:, -1]
        v = (pq @ W["WQ"].T) @ W["WK"]
        attn = jax.nn.softmax(jnp.einsum("bld,bd->bl", ctx, v), -1)
        cvec = jnp.einsum("bl,bld->bd", attn, ctx)
        return jax.nn.relu(cvec @ W["WV"].T @ W["WO"].T) @ a

    def loss_fn(W, P, z):
        return jnp.mean(jax.nn.relu(1 - z * forward(W, P)))

    def init():
        eye = jnp.eye(c.d) * c.delta
        return dict(WQ=eye, WK=eye, WV=eye, WO=A(K["w_o"]))

    def make_train_jit(B, l):
        @jax.jit
        def step(W, key):
            key, sk = jax.random.split(key)
            P, z = sample(sk, B, l)
            loss, g = jax.value_and_grad(loss_fn)(W, P, z)
            return jax.tree_util.tree_map(lambda p, gp: p - c.lr * gp, W, g), key, loss

        return step

    def make_train(W, B, l):
        f = make_train_jit(B, l)
        st = dict(W=W, key=jax.random.key(c.seed), last=None)

        def step():
            st["W"], st["key"], st["last"] = f(st["W"], st["key"])
            return st

        step.state = st
        return step

    def make_infer(W, B, l):
        @jax.jit
        def f(W, key):
            key, sk = jax.random.split(key)
            P, _ = sample(sk, B, l)
            return forward(W, P), key

        st = dict(key=jax.random.key(c.seed + 1), last=None)

        def step():
            st["last"], st["key"] = f(W, st["key"])
            return st

        step.state = st
        return step

    def error(W, n, l, which):
        P, z = sample(jax.random.key(c.seed + 12345), n, l, which)
        return float(jnp.mean(jnp.sign(forward(W, P)) != z))

    info = dict(framework="jax", version=jax.__version__, device=str(jax.devices()[0]),
                note=f"backend={jax.default_backend()}")
    return dict(info=info, init=init, make_train=make_train, make_infer=make_infer,
                sync=None, loss_of=lambda s: float(s()["last"]), error=error,
                advance=lambda W, st: st.state["W"])


# ----------------------------------------------------------------------------- driver


def load(name, c, K, device):
    if name not in ("torch", "jax"):
        print(f"# skipping {name}: unknown framework (use torch, jax)", file=sys.stderr)
        return None
    try:
        return (torch_backend if name == "torch" else jax_backend)(c, K, device)
    except ImportError as e:
        print(f"# skipping {name}: not installed ({e})", file=sys.stderr)
        return None


def sync_for(be, step):
    if be["sync"] is not None:
        return be["sync"]
    import jax

    return lambda: jax.block_until_ready(step.state["last"])


def bench(be, c, args):
    rows = []
    for B in args.batch:
        for what in args.what:
            W = be["init"]()
            step = (be["make_train"] if what == "train" else be["make_infer"])(W, B, c.l)
            rate, steps = measure(step, sync_for(be, step), B, args.warmup, args.seconds, args.max_steps,
                                  args.repeats)
            row = dict(framework=be["info"]["framework"], version=be["info"]["version"], what=what, B=B,
                       l=c.l, m=c.m, d=c.d, prompts_per_s=rate, device=be["info"]["device"])
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print(f"{row['framework']:<6} {what:<6} {B:>6} {c.l:>3} {c.m:>4} {c.d:>3} {rate:>14.4g}"
                      f" {steps:>6}", flush=True)
    return rows


def check(be, c, args):
    W = be["init"]()
    step = be["make_train"](W, args.check_batch, c.l)
    t0 = time.perf_counter()
    losses = [be["loss_of"](step) for _ in range(args.check_steps)]
    dt = time.perf_counter() - t0
    W = be["advance"](W, step)
    n = args.check_prompts
    res = dict(framework=be["info"]["framework"], steps=args.check_steps, B=args.check_batch, l=c.l,
               loss_first=losses[0], loss_final=losses[-1],
               loss_last10=float(np.mean(losses[-10:])),
               escape_step=next((i + 1 for i, v in enumerate(losses) if v < 0.5), None),  # first loss < 0.5
               err_train_tasks=be["error"](W, n, c.l, "train"),
               err_unseen_tasks=be["error"](W, n, c.l, "test"),
               err_unseen_l10=be["error"](W, n, 10, "test"), eval_prompts=n, seconds=dt)
    print(json.dumps(res) if args.json else "  ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in res.items()), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frameworks", default="torch,jax", help="comma list from torch,jax")
    p.add_argument("--batch", type=int, nargs="+", default=[64, 1024, 16384])
    p.add_argument("--l", type=int, default=20)
    p.add_argument("--m", type=int, default=64)
    p.add_argument("--d-x", type=int, default=30)
    p.add_argument("--what", nargs="+", default=["train", "infer"], choices=["train", "infer"])
    p.add_argument("--seconds", type=float, default=1.5, help="target seconds per timed repeat")
    p.add_argument("--max-steps", type=int, default=5000, help="cap on timed steps per repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=10, help="min warm-up steps (also >= 25%% of --seconds)")
    p.add_argument("--quick", action="store_true", help="short run: 0.4 s per repeat, 5 warm-up steps")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--device", default=None, help="torch device (default cuda if available, else cpu)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check", action="store_true", help="correctness run instead of timing")
    p.add_argument("--check-steps", type=int, default=300)
    p.add_argument("--check-batch", type=int, default=256)
    p.add_argument("--check-prompts", type=int, default=2000)
    args = p.parse_args()
    if args.quick:
        args.seconds, args.warmup = 0.4, 5
    c = Cfg(d_x=args.d_x, l=args.l, m=args.m, seed=args.seed)
    K = make_constants(c)
    if not args.json:
        print(f"# d_X={c.d_x} d_Y={c.d_y} d={c.d} M1={c.m1} M2={c.m2} l={c.l} m={c.m} alpha={c.alpha} "
              f"lr={c.lr} cpus={os.cpu_count()}")
    for name in [s.strip() for s in args.frameworks.split(",") if s.strip()]:
        be = load(name, c, K, args.device)
        if be is None:
            continue
        i = be["info"]
        if not args.json:
            print(f"# {i['framework']} {i['version']} device={i['device']} {i['note']}", flush=True)
            if not args.check:
                print(f"{'fw':<6} {'what':<6} {'B':>6} {'l':>3} {'m':>4} {'d':>3} {'prompts/s':>14} {'steps':>6}")
        (check if args.check else bench)(be, c, args)


if __name__ == "__main__":
    main()
