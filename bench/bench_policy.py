"""Learned remediation: how fast Thompson sampling settles on the better action (simulation, real DB).

World: `restart` heals 85% of incidents in ~5 s, `free_port` 35% in ~20 s.
Prints, over several seeds, the share of picks of the better action per block of incidents.
Usage: python bench/bench_policy.py [SEEDS] [ROUNDS]
"""

from __future__ import annotations

import random
import sys
import tempfile

from grace_tui.governance.policy import RemediationPolicy
from grace_tui.registry import Registry

WORLD = {"restart": (0.85, 5.0), "free_port": (0.35, 20.0)}
ACTIONS = ["free_port", "restart"]


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    block = 10
    shares = [0.0] * (rounds // block)
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as tmp:
            registry = Registry.open(tmp)
            policy = RemediationPolicy(rng=random.Random(seed))
            world = random.Random(1000 + seed)
            for i in range(rounds):
                action = policy.choose_action(f"svc{seed}", "port_in_use", ACTIONS)
                p, ttr = WORLD[action]
                ok = world.random() < p
                policy.record(f"svc{seed}", "port_in_use", action, ok, ttr * world.uniform(0.5, 1.5) if ok else None)
                if action == "restart":
                    shares[i // block] += 1 / (block * seeds)
            registry.close()
    print(f"share of picks of the better action (restart), {seeds} seeds, blocks of {block} incidents:")
    print("  " + "  ".join(f"{(b + 1) * block}:{s:.0%}" for b, s in enumerate(shares)))


if __name__ == "__main__":
    main()
