"""The look-alike letters the answer check folds, read from
src/render/answer.rs (LOOK_ALIKES, then INTERFERENCE_LOOK_ALIKES for types
5-8), so that every script scores a reading as the service would accept it
and the pairs are written in one place only."""

import os
import re
import string

ANSWER_RS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "render", "answer.rs")


def _pairs(name):
    text = open(ANSWER_RS).read()
    found = re.search(name + r": \[\(u8, u8\); \d+\] = \[(.*?)\];", text, re.S)
    if found is None:
        raise SystemExit(f"{name} not found in {ANSWER_RS}")
    return re.findall(r"\(b'([A-Z])', b'([A-Z])'\)", found.group(1))


def table(interference, without=()):
    """A str.translate table, upper-case letters to what the check compares
    them as: the common look-alikes first, then (for interference answers)
    the interference ones on the result, as `fold` in answer.rs does.
    `without` drops interference pairs, e.g. ("E", "Z") to tell E and Z apart."""
    common = dict(_pairs("LOOK_ALIKES"))
    extra = {s: m for s, m in _pairs("INTERFERENCE_LOOK_ALIKES") if (s, m) not in without} if interference else {}
    out = {}
    for c in string.ascii_uppercase:
        first = common.get(c, c)
        folded = extra.get(first, first)
        if folded != c:
            out[c] = folded
    return str.maketrans(out)
