"""The decoders an attacker puts behind a CTC reader whose outputs they can
reach (scripts/solver_check.py uses them).

Every CTC reader outputs, per time step, a score for each of its classes
and one "blank". Its own greedy decoding takes the best class per step,
merges repeats and drops blanks. An attacker who knows the captcha does
better, with no training:

- `restricted`: greedy over the type's letters and the blank only (the
  letters a reader of the source knows answers are drawn from);
- `beam`: a CTC prefix beam search over those letters that returns the
  likeliest reading with exactly the letter count the widget shows, and
  (for types whose answers never repeat a letter twice in a row) no
  letter twice in a row.

Both take `letter_logp`, a (T, K + 1) array of log-probabilities over the
K letters of `letters` and the blank in the last column, as
`ctc_readers.restrict` makes it.
"""

import math

import numpy as np


def restricted(letter_logp, letters):
    """Greedy CTC decoding over the letters and the blank."""
    best = letter_logp.argmax(axis=1)
    blank = len(letters)
    out = []
    prev = blank
    for k in best:
        if k != blank and k != prev:
            out.append(letters[k])
        prev = k
    return "".join(out)


NINF = float("-inf")


def _logsumexp(a, b):
    # Plain floats: numpy scalars are ten times slower here.
    if a == NINF:
        return b
    if b == NINF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


def beam(letter_logp, letters, length, distinct=False, repeatable=frozenset(), width=16):
    """The likeliest reading of exactly `length` letters, by CTC prefix
    beam search: each prefix keeps the log-probability of its alignments
    ending in a blank and ending in its last letter. Prefixes longer than
    `length`, or too short to reach it in the steps left, are dropped.
    With `distinct`, no letter follows itself but those in `repeatable`
    (indices of letters that stand for two answer letters). Returns "" if no prefix
    of that length survives."""
    steps, classes = letter_logp.shape
    blank = classes - 1
    # The most promising letters at each step: the rest cannot enter a
    # beam this narrow.
    top = np.argsort(-letter_logp[:, :blank], axis=1)[:, : min(blank, 6)].tolist()
    rows = letter_logp.tolist()
    # prefix (tuple of letter indices) -> [log p ending in blank, log p ending in a letter]
    beams = {(): [0.0, NINF]}
    for t in range(steps):
        row = rows[t]
        left = steps - t - 1
        nxt = {}

        def add(prefix, which, value):
            cell = nxt.get(prefix)
            if cell is None:
                cell = nxt[prefix] = [NINF, NINF]
            cell[which] = _logsumexp(cell[which], value)

        candidates = top[t]
        for prefix, (pb, pnb) in beams.items():
            total = _logsumexp(pb, pnb)
            # Stay: a blank, or the last letter again (merged).
            add(prefix, 0, total + row[blank])
            if prefix:
                add(prefix, 1, pnb + row[prefix[-1]])
            if len(prefix) >= length:
                continue
            for k in candidates:
                grown = prefix + (k,)
                # Too short to finish in the steps left (a repeat needs a
                # blank between).
                if length - len(grown) > left:
                    continue
                if prefix and k == prefix[-1]:
                    if distinct and k not in repeatable:
                        continue
                    add(grown, 1, pb + row[k])
                else:
                    add(grown, 1, total + row[k])
        ranked = sorted(nxt.items(), key=lambda kv: -_logsumexp(*kv[1]))
        beams = dict(ranked[:width])
    done = [(p, _logsumexp(*v)) for p, v in beams.items() if len(p) == length]
    if not done:
        return ""
    best = max(done, key=lambda pv: pv[1])[0]
    return "".join(letters[k] for k in best)
