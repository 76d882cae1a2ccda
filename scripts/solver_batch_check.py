"""Checks that batching does not change what a solver reads: each CTC
reader of scripts/ctc_readers.py reads the same pictures once in its
batches and once one picture at a time, and every decoder's strings must
be equal (the largest difference of the log-probabilities is printed too).

    target/solver-venv/bin/python scripts/solver_batch_check.py DIR [COUNT] [--solvers a,b]

DIR is a solver-check picture folder (subfolders s1, s2, s3); COUNT
pictures (default 52) are taken evenly from types 5-8 at each scale.
Exits non-zero when any reading differs.
"""

import argparse
import glob
import os
import re
import sys

from PIL import Image

import ctc_readers
import solver_check


def compare(solver, imgs, lengths, alphabet):
    """Readings that differ between one batch and one picture a run, and
    the largest difference of the log-probabilities."""
    batched = solver.read_all(imgs, alphabet, lengths, True)
    _, logps = solver.reader.run(imgs)
    single = {dec: [] for dec in batched}
    gap = 0.0
    for im, n, lp in zip(imgs, lengths, logps):
        for dec, texts in solver.read_all([im], alphabet, [n], True).items():
            single[dec] += texts
        gap = max(gap, float(abs(solver.reader.run([im])[1][0] - lp).max()))
    differ = sum(a != b for dec in batched for a, b in zip(batched[dec], single[dec]))
    return differ, sum(len(t) for t in batched.values()), gap


def interference_alphabet():
    """The letters of types 5-8, from the crate's source (as solver-check
    reads them)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    for path in glob.glob(os.path.join(root, "**", "*.rs"), recursive=True):
        found = re.search(r'INTERFERENCE_ALPHABET: &\[u8; \d+\] = b"([A-Z]+)', open(path).read())
        if found:
            return found.group(1)
    raise SystemExit("INTERFERENCE_ALPHABET not found under src/")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("count", nargs="?", type=int, default=52)
    ap.add_argument("--solvers", default=",".join(ctc_readers.READERS))
    args = ap.parse_args()
    alphabet = interference_alphabet()
    solvers = solver_check.make_solvers(args.solvers.split(","))
    bad = 0
    for scale, folder in solver_check.load(args.dir).items():
        ps = solver_check.PictureSet(scale, folder, "5678")
        files = ps.files[:: max(1, len(ps.files) // args.count)][: args.count]
        imgs = [Image.open(os.path.join(folder, f)).convert("RGB") for f in files]
        lengths = [len(ps.answers[f]) for f in files]
        for name, solver in solvers.items():
            differ, total, gap = compare(solver, imgs, lengths, alphabet)
            bad += differ
            print(f"s={scale} {name}: {len(files)} pictures, {total - differ} of {total} readings "
                  f"(every decoder) equal, largest log-probability difference {gap:.2e}", flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
