"""Reads captchas with off-the-shelf solvers, as an attacker with no
training but the obvious decoders would.

Run by scripts/solver-check inside its venv:

    python scripts/solver_check.py DIR ALPHABET [INTERFERENCE_ALPHABET] [--detail FILE] [--solvers a,b] [--preps a,b]

DIR holds PNGs named typeT_NNN.png and answers.tsv (`<file>\\t<answer>`), as
tools/samples writes them, or subfolders s1, s2, s3 of them (the
pictures at each scale the image route serves). Every solver runs on every
picture after every preprocessing, and the CTC readers' outputs go through
every decoder (scripts/ctc_decode.py); a read counts when the checker
accepts it (the whole answer, case-insensitive, look-alikes folded).
Prints one table, solver x type, with the
best preprocessing and scale for that solver and type and the worst cell of
each type with its 95 % interval, and writes every (solver + decoder,
preprocessing, scale, type) figure to --detail.
"""

import os

# One thread per library: the check runs beside other work under `nice`,
# and idle BLAS and OpenMP threads spin, at up to thirty times the CPU time
# for the same result (Tesseract, run as a program, inherits the limit).
# Set before numpy and OpenCV load.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_THREAD_LIMIT"):
    os.environ[var] = "1"

import argparse
import collections
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

import answer_folds
import ctc_decode
import ctc_readers
from solver_preps import PREPS, Preparer


# --- solvers ---

class Tesseract:
    """Tesseract 5, one text line (psm 7), whitelisted to the alphabet, on
    the picture as handed over or 3x Lanczos upscaled. The pictures go to one
    tesseract process as a file list (one model load)."""

    def __init__(self, alphabet, scale):
        self.alphabet = alphabet
        self.scale = scale

    def read_all(self, imgs):
        with tempfile.TemporaryDirectory() as d:
            names = []
            for i, im in enumerate(imgs):
                im = im.convert("L")
                if self.scale != 1:
                    im = im.resize((im.width * self.scale, im.height * self.scale), Image.LANCZOS)
                name = os.path.join(d, f"{i:05}.png")
                im.save(name)
                names.append(name)
            with open(os.path.join(d, "list.txt"), "w") as f:
                f.write("\n".join(names) + "\n")
            try:
                pages = self.run(os.path.join(d, "list.txt")).split("\f")
            except subprocess.CalledProcessError:
                # Tesseract 5.3 dies (SIGFPE) on some pictures: one process
                # per picture then, a crash reading as nothing.
                pages = []
                for name in names:
                    try:
                        pages.append(self.run(name))
                    except subprocess.CalledProcessError:
                        pages.append("")
        reads = [p.replace(" ", "").replace("\n", "") for p in pages[: len(imgs)]]
        return reads + [""] * (len(imgs) - len(reads))

    def run(self, source):
        return subprocess.run(
            ["tesseract", source, "-", "--psm", "7",
             "-c", f"tessedit_char_whitelist={self.alphabet}"],
            capture_output=True, text=True, check=True,
        ).stdout


class CtcSolver:
    """A CTC reader whose class scores are reachable (ctc_readers.py), with
    the decoders an attacker puts behind it (ctc_decode.py): as shipped,
    restricted to the type's letters, and the beam search for the likeliest
    reading of the widget's letter count. One model run per picture feeds
    every decoder."""

    def __init__(self, name):
        self.reader = ctc_readers.READERS[name]()

    def read_all(self, imgs, alphabet, lengths, distinct):
        texts, logps = self.reader.run(imgs)
        # Look-alikes count as the letter the checker takes them for, so
        # the attacker reads in the letters the check tells apart: each
        # one's score sums every class that folds to it (O and Q to D; for
        # the interference types E, F and X to Z, N and H to M), and two
        # answer letters that fold together (E, Z) may follow each other.
        fold = INTERFERENCE_FOLD if distinct else FOLD
        letters = "".join(sorted(set(alphabet.translate(fold))))
        restrict = ctc_readers.Restrictor(self.reader.labels, self.reader.blank, letters, fold)
        repeatable = {k for k, l in enumerate(letters) if sum(c.translate(fold) == l for c in alphabet) > 1}
        out = {"": texts, "+ranges": ["".join(c for c in t.upper().translate(fold) if c in letters) for t in texts],
               "+restricted": [], "+beam": []}
        for lp, n in zip(logps, lengths):
            letters_lp = restrict(lp)
            out["+restricted"].append(ctc_decode.restricted(letters_lp, letters))
            out["+beam"].append(ctc_decode.beam(letters_lp, letters, n, distinct, repeatable))
        if distinct and os.environ.get("SOLVER_CHECK_EXACT_EZ"):
            # The beam again with E and Z told apart, scored exactly
            # (`+beam=EZ`): what the attacker reads if the checker drops
            # the E/Z fold.
            fold = EXACT_EZ_FOLD
            letters = "".join(sorted(set(alphabet.translate(fold))))
            restrict = ctc_readers.Restrictor(self.reader.labels, self.reader.blank, letters, fold)
            out["+beam=EZ"] = [ctc_decode.beam(restrict(lp), letters, n, distinct, set())
                               for lp, n in zip(logps, lengths)]
        return out


class PlainSolver:
    """A solver that gives only text."""

    def __init__(self, make):
        self.make = make
        self.by_alphabet = {}

    def read_all(self, imgs, alphabet, lengths, distinct):
        if alphabet not in self.by_alphabet:
            self.by_alphabet[alphabet] = self.make(alphabet)
        return {"": self.by_alphabet[alphabet].read_all(imgs)}


def make_solvers(names):
    out = {}
    for n in names:
        try:
            if n in ctc_readers.READERS:
                out[n] = CtcSolver(n)
            elif n == "tesseract":
                out[n] = PlainSolver(lambda a: Tesseract(a, 1))
            elif n == "tesseract-x3":
                out[n] = PlainSolver(lambda a: Tesseract(a, 3))
            else:
                raise SystemExit(f"unknown solver {n}")
        except ImportError as e:
            print(f"skipping {n}: {e}", file=sys.stderr)
    return out


ALL_SOLVERS = "captcha-whisperer,ddddocr,ddddocr-beta,rapidocr,svtrv2,easyocr,tesseract,tesseract-x3"


# The look-alikes the checker folds (src/render/answer.rs): a reading is
# scored as the service would accept it, not only when exact.
FOLD = answer_folds.table(interference=False)
INTERFERENCE_FOLD = answer_folds.table(interference=True)
# The same without the E/Z fold (rows `...=EZ`, SOLVER_CHECK_EXACT_EZ=1).
EXACT_EZ_FOLD = answer_folds.table(interference=True, without=(("E", "Z"),))


def accepted(read, answer, interference, exact_ez=False):
    fold = (EXACT_EZ_FOLD if exact_ez else INTERFERENCE_FOLD) if interference else FOLD
    return read.strip().upper().translate(fold) == answer.upper().translate(fold)


def wilson(k, n, z=1.96):
    """95 % Wilson interval of k successes in n, in percent."""
    if n == 0:
        return (0.0, 100.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    r = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (100 * max(0.0, c - r), 100 * min(1.0, c + r))


def load(root):
    """The picture sets under ROOT: ROOT itself when it holds answers.tsv,
    else each subfolder sN (pictures at scale N) that does."""
    if os.path.exists(os.path.join(root, "answers.tsv")):
        return {"1": root}
    sets = {}
    for d in sorted(os.listdir(root)):
        if d.startswith("s") and os.path.exists(os.path.join(root, d, "answers.tsv")):
            sets[d[1:]] = os.path.join(root, d)
    return sets


class PictureSet:
    """The pictures of one scale: file names of the chosen types, their
    answers and types."""

    def __init__(self, scale, folder, types):
        self.scale = scale
        self.folder = folder
        self.answers = {}
        for line in open(os.path.join(folder, "answers.tsv")):
            f, a = line.rstrip("\n").split("\t")
            self.answers[f] = a
        self.files = [f for f in sorted(self.answers) if f[len("type")] in types]
        self.kind = {f: f[len("type"): f.index("_")] for f in self.files}


def cpu_seconds():
    """CPU time of this process and the programs it ran (Tesseract)."""
    own = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + children.ru_utime + children.ru_stime


# One worker's solvers, loaded once per process (see read_unit).
WORKER = {}


def start_worker(solver_names, alphabet, interference, keep_reads, cache):
    WORKER.update(solvers=make_solvers(solver_names), alphabet=alphabet,
                  interference=interference, keep_reads=keep_reads, cache=cache)


def read_unit(unit):
    """Every solver and decoder on one scale's pictures after one
    preprocessing: the unit of work a process takes. Returns the hits per
    (row, preprocessing, scale, type), the rows in order, every read (if
    asked), the CPU seconds it took and each solver's share of them."""
    pictures, p = unit
    t0 = cpu_seconds()
    files, answers, kind = pictures.files, pictures.answers, pictures.kind
    prepare = Preparer(pictures.folder, WORKER["cache"] and os.path.join(WORKER["cache"], f"s{pictures.scale}"))
    prepared = [prepare(p, f) for f in files]
    costs = {"prep": cpu_seconds() - t0}
    # The attacker restricts a solver to the letters the type draws
    # from (the interference types use fewer) and, for those, knows
    # that no letter follows itself.
    groups = collections.defaultdict(list)
    for i, f in enumerate(files):
        groups[kind[f] in "5678"].append(i)
    hits = collections.Counter()
    rows, reads = [], []
    for sname, solver in WORKER["solvers"].items():
        t1 = cpu_seconds()
        for interf, idx in groups.items():
            alphabet = WORKER["interference"] if interf else WORKER["alphabet"]
            got = solver.read_all([prepared[i] for i in idx], alphabet,
                                  [len(answers[files[i]]) for i in idx], interf)
            for dec, texts in got.items():
                row = sname + dec
                if row not in rows:
                    rows.append(row)
                for i, r in zip(idx, texts):
                    f = files[i]
                    ok = accepted(r, answers[f], kind[f] in "5678", row.endswith("=EZ"))
                    hits[(row, p, pictures.scale, kind[f])] += ok
                    if WORKER["keep_reads"]:
                        reads.append(f"{row}\t{p}\ts{pictures.scale}\t{f}\t{answers[f]}\t{r}\t{int(ok)}\n")
        costs[sname] = cpu_seconds() - t1
    name = f"s={pictures.scale} {p}, {len(files)} pictures"
    return hits, rows, reads, cpu_seconds() - t0, name, (pictures.scale, p), costs


def run_units(units, jobs, init_args):
    """The units' results, in the order they finish: in this process, or
    in `jobs` processes that each load the solvers once."""
    if jobs <= 1:
        start_worker(*init_args)
        yield from map(read_unit, units)
        return
    with multiprocessing.get_context("fork").Pool(jobs, start_worker, init_args) as pool:
        yield from pool.imap_unordered(read_unit, units)


def merge(paths, detail):
    """The table of runs that split the work (by solver, preprocessing or
    scale), from their --detail files (cells "reads/pictures")."""
    hits, total = collections.Counter(), collections.Counter()
    ran = []
    for path in paths:
        lines = open(path).read().splitlines()
        types = [h.split()[-1] for h in lines[0].split("\t")[3:]]
        for line in lines[1:]:
            row, p, scale, *cells = line.split("\t")
            if (row, p, scale) in ran:
                raise SystemExit(f"{path}: {row} {p} s={scale} is in an earlier file too")
            ran.append((row, p, scale))
            for t, cell in zip(types, cells):
                k, n = map(int, cell.split("/"))
                hits[(row, p, scale, t)] = k
                total[(scale, t)] = n
    report(hits, total, ran, detail)


def main():
    if sys.argv[1:2] == ["merge"]:
        ap = argparse.ArgumentParser(prog="solver_check.py merge")
        ap.add_argument("details", nargs="+", help="--detail files of runs on the same pictures")
        ap.add_argument("--detail", help="write the merged detail here")
        args = ap.parse_args(sys.argv[2:])
        return merge(args.details, args.detail)
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", help="pictures and answers.tsv, or subfolders s1, s2, s3 of them (one per scale)")
    ap.add_argument("alphabet", help="letters of the clear types' answers")
    ap.add_argument("interference_alphabet", nargs="?",
                    help="letters of types 5-8 (default: the same as ALPHABET)")
    ap.add_argument("--detail", help="write every solver x decoder x preprocessing x scale x type figure here (TSV)")
    ap.add_argument("--solvers", default=ALL_SOLVERS)
    ap.add_argument("--preps", default=",".join(PREPS))
    ap.add_argument("--cache", help="keep prepared pictures here for later runs on the same pictures")
    ap.add_argument("--types", default="12345678", help="which types to read, e.g. 5678")
    ap.add_argument("--scales", help="which scales of DIR to read, e.g. 1,3 (default: all)")
    ap.add_argument("--reads", help="write every read here (TSV), for looking at misreads")
    ap.add_argument("--jobs", type=int, default=1, help="processes, each taking one scale and preprocessing at a time")
    args = ap.parse_args()

    interference = args.interference_alphabet or args.alphabet
    preps = args.preps.split(",")
    sets = [PictureSet(scale, d, args.types) for scale, d in load(args.dir).items()
            if not args.scales or scale in args.scales.split(",")]
    total = collections.Counter()
    for ps in sets:
        for f in ps.files:
            total[(ps.scale, ps.kind[f])] += 1
    # One preprocessing at every scale before the next: a run stopped early
    # has whole preprocessings, at every scale, in its detail file.
    units = [(ps, p) for p in preps for ps in sets]
    # hits[(row, prep, scale, type)] = accepted reads; a row is a solver and a decoder.
    hits = collections.Counter()
    rows = []
    reads_out = open(args.reads, "w") if args.reads else None
    init = (args.solvers.split(","), args.alphabet, interference, reads_out is not None, args.cache)
    done_units = []
    for done, (h, unit_rows, reads, cpu, name, unit_key, costs) in enumerate(run_units(units, args.jobs, init), 1):
        hits.update(h)
        done_units.append(unit_key)
        rows += [r for r in unit_rows if r not in rows]
        if reads_out:
            reads_out.writelines(reads)
            reads_out.flush()
        n = len(units[0][0].files)
        shares = ", ".join(f"{k} {1000 * v / n:.1f}" for k, v in costs.items())
        print(f"  {done}/{len(units)} {name} done ({cpu:.0f} s CPU; ms a picture: {shares})",
              file=sys.stderr, flush=True)
        ran = [(r, p, s) for r in rows for s, p in done_units]
        if args.detail:
            write_detail(args.detail, hits, total, ran)
    report(hits, total, ran, args.detail)


def write_detail(path, hits, total, ran):
    """The count of every (row, preprocessing, scale) in `ran`, as
    "reads/pictures" per type: rewritten after every unit of work, so a run
    stopped early keeps what it read (`merge` reads it back)."""
    types = sorted({t for _, t in total})
    with open(path, "w") as d:
        d.write("solver\tpreprocessing\tscale\t" + "\t".join(f"type {t}" for t in types) + "\n")
        for r, p, s in ran:
            cells = [f"{hits[(r, p, s, t)]}/{total[(s, t)]}" for t in types]
            d.write(f"{r}\t{p}\t{s}\t" + "\t".join(cells) + "\n")


def solver_of(row):
    """The solver a row (solver and decoder) belongs to."""
    return row.split("+")[0]


def report(hits, total, ran, detail):
    """The table (each row's best preprocessing and scale per type), the
    worst cell of each solver and of each type with its 95 % interval, and
    what ran: only (row, preprocessing, scale) in `ran` count."""
    types = sorted({t for _, t in total})
    rows = list(dict.fromkeys(r for r, _, _ in ran))
    if detail:
        write_detail(detail, hits, total, ran)

    def best(rows_in, t):
        """(share, reads, pictures, where) of the best cell of these rows."""
        k, n, where = max(((hits[(r, p, s, t)], total[(s, t)], f"{r} {p} s={s}") for r, p, s in ran if r in rows_in),
                          key=lambda c: c[0] / c[1])
        return k / n, k, n, where

    n = min(total.values())
    print(f"accepted % (whole answer, look-alikes folded as the checker does), best preprocessing and scale per cell, "
          f"{n} pictures per type and scale, scales {', '.join(sorted({s for s, _ in total}))}")
    width = max(len(r) for r in rows) + 2
    print("solver".ljust(width) + "".join(f"{'type ' + t:>26}" for t in types))
    for r in rows:
        cells = [best({r}, t) for t in types]
        print(r.ljust(width) + "".join(f"{100 * c[0]:.1f} {c[3].split(' ', 1)[1].replace(' s=', '@')}".rjust(26)
                                       for c in cells))
    print("\nworst cell of each solver (any decoder, preprocessing and scale), 95 % Wilson interval:")
    for solver in dict.fromkeys(map(solver_of, rows)):
        mine = {r for r in rows if solver_of(r) == solver}
        print(f"  {solver}: " + "; ".join(cell(t, *best(mine, t)) for t in types))
    print("worst cell of each type:")
    for t in types:
        print("  " + cell(t, *best(set(rows), t)))
    print("what ran (preprocessing: scales), per solver:")
    for solver in dict.fromkeys(map(solver_of, rows)):
        done = collections.defaultdict(list)
        for r, p, s in ran:
            if r == solver:
                done[p].append(s)
        print(f"  {solver} ({len(done)} preprocessings): " + ", ".join(f"{p} {','.join(sorted(v))}" for p, v in done.items()))


def cell(t, share, k, n, where):
    lo, hi = wilson(k, n)
    return f"type {t} {k}/{n} = {100 * share:.1f} % ({lo:.1f}-{hi:.1f} %, {where})"


if __name__ == "__main__":
    main()
