"""Which few open balances add up to a payment that pays several invoices without naming them (subset sum).

Pure integer arithmetic on whole cents; the engine calls it with the oldest-due balances of one customer.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence


def find_combination(balances: Sequence[int], target: int, tolerance: int, max_size: int) -> tuple[int, ...] | None:
    """Indices of 2..`max_size` balances (listed oldest first) whose sum is within `tolerance` of `target`,
    or None. Fewer invoices win, then older ones; paying the oldest invoices in order is tried first at any
    size, because that is how customers clear a statement. Combinations of three or four must add up to the
    cent (one cent of rounding per invoice): with a tolerance, some four of forty random balances nearly
    always come close to any amount by chance."""
    n = len(balances)
    if n < 2 or target <= 0:
        return None
    running = 0
    for k, balance in enumerate(balances):
        running += balance
        if k >= 1 and abs(running - target) <= tolerance:
            return tuple(range(k + 1))
        if running > target + tolerance:
            break
    if tolerance == 0 and max_size == 2:
        seen: dict[int, int] = {}
        for j, balance in enumerate(balances):
            i = seen.get(target - balance)
            if i is not None:
                return (i, j)
            seen.setdefault(balance, j)
        return None
    pairs = sorted((balances[i] + balances[j], i, j) for i in range(n) for j in range(i + 1, n))
    sums = [p[0] for p in pairs]

    def pairs_near(value: int, slack: int) -> list[tuple[int, int, int]]:
        return pairs[bisect.bisect_left(sums, value - slack) : bisect.bisect_right(sums, value + slack)]

    found = [(i + j, (i, j)) for _, i, j in pairs_near(target, tolerance)]
    if found:
        return min(found)[1]
    if max_size >= 3:
        slack = min(tolerance, 3)
        triples = [
            (i + j + k, (i, j, k)) for i in range(n) for _, j, k in pairs_near(target - balances[i], slack) if j > i
        ]
        if triples:
            return min(triples)[1]
    if max_size >= 4:
        slack = min(tolerance, 4)
        quads = [
            (i + j + k + m, (i, j, k, m))
            for s, i, j in pairs
            if s < target
            for _, k, m in pairs_near(target - s, slack)
            if k > j
        ]
        if quads:
            return min(quads)[1]
    return None
