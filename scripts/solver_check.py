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

import cv2
import numpy as np
from PIL import Image

import ctc_decode
import ctc_readers


# --- preprocessing: what an attacker does to a picture before the solver ---

def grey(img):
    return np.asarray(img.convert("L"))


def ink_dark(g):
    """Our pictures have a light background and dark ink, but an attacker
    normalises either way: the background is the border's majority."""
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    return g if border.mean() >= 128 else 255 - g


def prep_none(img):
    return img


def prep_otsu(img):
    _, b = cv2.threshold(grey(img), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return Image.fromarray(ink_dark(b))


def prep_invert(img):
    return Image.fromarray(255 - grey(img))


def prep_median(img):
    return Image.fromarray(cv2.medianBlur(grey(img), 3))


def prep_close(img):
    # Closing of the dark ink: grow the ink (min filter), shrink it back.
    g = ink_dark(grey(img))
    k = np.ones((3, 3), np.uint8)
    return Image.fromarray(cv2.dilate(cv2.erode(g, k), k))


def flip_bands(g, share=6):
    """The attacker who has read the renderer: contrast reverses in bands, so
    undo it locally. A pixel whose neighbourhood (a window about a letter
    stroke wide) is mostly dark sits inside a reversed band: flip it. Works
    for any band shape (straight, wavy, diagonal, per letter), since it only
    looks at the local background."""
    g = g.astype(np.float32)
    # Local mean over a window of about two stem widths: in a reversed band
    # the background (most of the area) is dark.
    win = max(5, (g.shape[0] // share) | 1)
    local = cv2.blur(g, (win, win))
    out = np.where(local < 128, 255 - g, g)
    return out.astype(np.uint8)


def margin_flip(g):
    """The attacker who has read the renderer, against bands that run
    across the whole picture: the margins left and right of the word are
    empty, so there a dark pixel means a reversed band. For each band
    angle in a range, carry the margin's polarity along that slope into
    the picture (from the left margin over the left half, from the right
    over the right half) and keep the angle whose two margins agree best;
    flip the pixels that slope says are reversed. Undoes straight bands at
    any angle (the rows-with-dark-margins trick is the case of angle 0)."""
    h, w = g.shape
    m = max(3, w // 30)
    dark = g < 128
    left = dark[:, :m].mean(axis=1)  # polarity of each row at the left margin
    right = dark[:, w - m:].mean(axis=1)
    ys, xs = np.mgrid[0:h, 0:w]
    best = None
    # Slopes up to 1.2 (50 degrees): the bands tilt up to 46.
    for slope in np.linspace(-1.2, 1.2, 49):
        # A band line through (x, y) meets the left margin at y - slope * x.
        yl = ys - slope * xs
        yr = ys + slope * (w - 1 - xs)
        # Where the margin rows are outside the picture, extend periodically
        # is unknown: clamp.
        pl = np.interp(yl.ravel(), np.arange(h), left, left=np.nan, right=np.nan).reshape(h, w)
        pr = np.interp(yr.ravel(), np.arange(h), right, left=np.nan, right=np.nan).reshape(h, w)
        both = ~np.isnan(pl) & ~np.isnan(pr)
        agree = np.nanmean(np.abs(pl[both] - pr[both])) if both.any() else 1.0
        if best is None or agree < best[0]:
            best = (agree, pl, pr)
    _, pl, pr = best
    wl = 1.0 - xs / (w - 1)
    pol = np.where(np.isnan(pl), pr, np.where(np.isnan(pr), pl, wl * pl + (1 - wl) * pr))
    pol = np.nan_to_num(pol, nan=0.0)
    return np.where(pol > 0.5, 255 - g, g).astype(np.uint8)


def column_phase(g):
    """The attacker who has read the renderer, against letters drawn by
    reversing stripes: down every column the stripes repeat with one
    spacing, and the letters flip a minority of its pixels. Find the
    spacing whose Fourier coefficient, summed over the columns, is
    largest; in each column the coefficient's phase is the stripes'
    (smoothed across columns, since the stripes bend smoothly); rebuild
    the stripes from it and keep the pixels that disagree: the letters,
    dark on white. Works for any tilt and wave, since it never looks
    across columns but to smooth."""
    sign, spacing, phase = stripe_columns(g)
    ys = np.arange(g.shape[0])
    stripes = np.where(np.cos(2 * np.pi * ys[:, None] / spacing + phase[None, :]) > 0, 1.0, -1.0)
    return np.where(sign * stripes < 0, 0, 255).astype(np.uint8)


def stripe_columns(g):
    """column_phase's estimate: each pixel as +1 (dark) or -1, the stripes'
    spacing down a column, and each column's phase at that spacing."""
    h, w = g.shape
    sign = np.where(g < 128, 1.0, -1.0)
    ys = np.arange(h)
    best = None
    for spacing in np.arange(0.12 * h, 0.8 * h, 0.25):
        wave = np.exp(-2j * np.pi * ys / spacing)
        coef = sign.T @ wave
        score = np.abs(coef).sum()
        if best is None or score > best[0]:
            best = (score, spacing, coef)
    _, spacing, coef = best
    # Smooth the phase across neighbouring columns (as unit vectors).
    return sign, spacing, smooth_angle(coef / np.maximum(np.abs(coef), 1e-9))


def smooth_angle(unit):
    """The angles of unit vectors, each averaged with its four nearest
    neighbours (as vectors, so that angles near +-pi average right)."""
    k = np.ones(5) / 5
    return np.angle(np.convolve(unit.real, k, "same") + 1j * np.convolve(unit.imag, k, "same"))


def row_column_phase(g):
    """column_phase against stripes that bunch and spread down the picture
    (0.4.0): the renderer lays them as a function of the column plus one
    of the row, so after the columns' phases, find each row's shift (of 33
    across one spacing) under which the rebuilt stripes agree with most of
    the row's pixels (letters flip a minority of a row), smooth the shifts
    down the rows, rebuild the stripes with both and keep the pixels that
    disagree."""
    sign, spacing, phase = stripe_columns(g)
    ys = np.arange(g.shape[0])
    shifts = np.linspace(-0.5, 0.5, 33) * spacing
    arg = 2 * np.pi * (ys[None, :, None] + shifts[:, None, None]) / spacing + phase[None, None, :]
    agree = (np.where(np.cos(arg) > 0, 1.0, -1.0) * sign[None]).sum(axis=2)
    unit = np.exp(2j * np.pi * shifts[agree.argmax(axis=0)] / spacing)
    down = ys + smooth_angle(unit) * spacing / (2 * np.pi)
    stripes = np.where(np.cos(2 * np.pi * down[:, None] / spacing + phase[None, :]) > 0, 1.0, -1.0)
    return np.where(sign * stripes < 0, 0, 255).astype(np.uint8)


def prep_colphase(img):
    return Image.fromarray(column_phase(ink_dark(grey(img))))


def prep_colphase_median(img):
    return Image.fromarray(cv2.medianBlur(column_phase(ink_dark(grey(img))), 3))


def prep_rowphase(img):
    return Image.fromarray(row_column_phase(ink_dark(grey(img))))


def prep_rowphase_median(img):
    return Image.fromarray(cv2.medianBlur(row_column_phase(ink_dark(grey(img))), 3))


def prep_marginflip(img):
    return Image.fromarray(margin_flip(ink_dark(grey(img))))


def prep_marginflip_median(img):
    return Image.fromarray(cv2.medianBlur(margin_flip(ink_dark(grey(img))), 3))


def prep_unflip(img):
    return Image.fromarray(flip_bands(grey(img)))


def prep_unflip_wide(img):
    return Image.fromarray(flip_bands(grey(img), 3))


def prep_unflip_otsu(img):
    g = flip_bands(grey(img))
    _, b = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return Image.fromarray(ink_dark(b))


def prep_unflip_median(img):
    return Image.fromarray(cv2.medianBlur(flip_bands(grey(img)), 3))


def prep_fill(img):
    """Against hollow / outlined glyphs: fill closed dark contours."""
    g = ink_dark(grey(img))
    _, b = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(b, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    filled = b.copy()
    cv2.drawContours(filled, contours, -1, 255, cv2.FILLED)
    return Image.fromarray(255 - filled)


PREPS = {
    "none": prep_none,
    "otsu": prep_otsu,
    "invert": prep_invert,
    "median3": prep_median,
    "close3": prep_close,
    # The attacks of someone who read our source (see README "Against OCR").
    "unflip": prep_unflip,
    "unflip-wide": prep_unflip_wide,
    "unflip+otsu": prep_unflip_otsu,
    "unflip+median3": prep_unflip_median,
    "fill": prep_fill,
    "marginflip": prep_marginflip,
    "marginflip+median3": prep_marginflip_median,
    # Against letters drawn by reversing stripes (see column_phase).
    "colphase": prep_colphase,
    "colphase+median3": prep_colphase_median,
    # Against the stripes' ripple down the rows (see row_column_phase).
    "rowphase": prep_rowphase,
    "rowphase+median3": prep_rowphase_median,
}


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


ALL_SOLVERS = "captcha-whisperer,ddddocr,ddddocr-beta,rapidocr,svtrv2,tesseract,tesseract-x3"


# The look-alikes the checker folds (src/render/answer.rs): a reading is
# scored as the service would accept it, not only when exact.
FOLD = str.maketrans("QOIPF", "DDTRE")
INTERFERENCE_FOLD = str.maketrans("QOIPFVXBNHE", "DDTRZYZRMMZ")


def accepted(read, answer, interference):
    fold = INTERFERENCE_FOLD if interference else FOLD
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


def start_worker(solver_names, alphabet, interference, keep_reads):
    WORKER.update(solvers=make_solvers(solver_names), alphabet=alphabet,
                  interference=interference, keep_reads=keep_reads)


def read_unit(unit):
    """Every solver and decoder on one scale's pictures after one
    preprocessing: the unit of work a process takes. Returns the hits per
    (row, preprocessing, scale, type), the rows in order, every read (if
    asked) and the CPU seconds it took."""
    pictures, p = unit
    t0 = cpu_seconds()
    files, answers, kind = pictures.files, pictures.answers, pictures.kind
    prepared = [PREPS[p](Image.open(os.path.join(pictures.folder, f)).convert("RGB")) for f in files]
    # The attacker restricts a solver to the letters the type draws
    # from (the interference types use fewer) and, for those, knows
    # that no letter follows itself.
    groups = collections.defaultdict(list)
    for i, f in enumerate(files):
        groups[kind[f] in "5678"].append(i)
    hits = collections.Counter()
    rows, reads = [], []
    for sname, solver in WORKER["solvers"].items():
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
                    ok = accepted(r, answers[f], kind[f] in "5678")
                    hits[(row, p, pictures.scale, kind[f])] += ok
                    if WORKER["keep_reads"]:
                        reads.append(f"{row}\t{p}\ts{pictures.scale}\t{f}\t{answers[f]}\t{r}\t{int(ok)}\n")
    return hits, rows, reads, cpu_seconds() - t0, f"s={pictures.scale} {p}", (pictures.scale, p)


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
    rows, preps = [], []
    for path in paths:
        lines = open(path).read().splitlines()
        types = [h.split()[-1] for h in lines[0].split("\t")[3:]]
        for line in lines[1:]:
            row, p, scale, *cells = line.split("\t")
            rows += [row] if row not in rows else []
            preps += [p] if p not in preps else []
            for t, cell in zip(types, cells):
                k, n = map(int, cell.split("/"))
                if (row, p, scale, t) in hits:
                    raise SystemExit(f"{path}: {row} {p} s={scale} type {t} is in an earlier file too")
                hits[(row, p, scale, t)] = k
                total[(scale, t)] = n
    report(hits, total, rows, preps, detail)


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
    ap.add_argument("--types", default="12345678", help="which types to read, e.g. 5678")
    ap.add_argument("--reads", help="write every read here (TSV), for looking at misreads")
    ap.add_argument("--jobs", type=int, default=1, help="processes, each taking one scale and preprocessing at a time")
    args = ap.parse_args()

    interference = args.interference_alphabet or args.alphabet
    preps = args.preps.split(",")
    sets = [PictureSet(scale, d, args.types) for scale, d in load(args.dir).items()]
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
    init = (args.solvers.split(","), args.alphabet, interference, reads_out is not None)
    done_units = []
    for done, (h, unit_rows, reads, cpu, name, unit_key) in enumerate(run_units(units, args.jobs, init), 1):
        hits.update(h)
        done_units.append(unit_key)
        rows += [r for r in unit_rows if r not in rows]
        if reads_out:
            reads_out.writelines(reads)
            reads_out.flush()
        print(f"  {done}/{len(units)} {name} done ({cpu:.0f} s CPU)", file=sys.stderr, flush=True)
        if args.detail:
            write_detail(args.detail, hits, total, rows, done_units)
    report(hits, total, rows, preps, args.detail)


def write_detail(path, hits, total, rows, done):
    """Every row's count for each (scale, preprocessing) in `done`, as
    "reads/pictures" per type: rewritten after every unit of work, so a run
    stopped early keeps what it read (`merge` reads it back)."""
    types = sorted({t for _, t in total})
    with open(path, "w") as d:
        d.write("solver\tpreprocessing\tscale\t" + "\t".join(f"type {t}" for t in types) + "\n")
        for r in rows:
            for s, p in done:
                cells = [f"{hits[(r, p, s, t)]}/{total[(s, t)]}" for t in types]
                d.write(f"{r}\t{p}\t{s}\t" + "\t".join(cells) + "\n")


def report(hits, total, rows, preps, detail):
    scales = sorted({s for s, _ in total})
    types = sorted({t for _, t in total})

    def pct(n, t):
        return f"{100.0 * n / t:.1f}" if t else "-"

    if detail:
        write_detail(detail, hits, total, rows, [(s, p) for p in preps for s in scales])

    n = min(total.values())
    print(f"accepted % (whole answer, look-alikes folded as the checker does), best preprocessing and scale per cell, "
          f"{n} pictures per type and scale, scales {', '.join(scales)}")
    print(f"preprocessings tried: {', '.join(preps)}")
    width = max(len(r) for r in rows) + 2
    print("solver".ljust(width) + "".join(f"{'type ' + t:>22}" for t in types))
    worst = {}
    for r in rows:
        cells = []
        for t in types:
            k, p, s = max(((hits[(r, p, s, t)], p, s) for p in preps for s in scales),
                          key=lambda c: c[0] / total[(c[2], t)])
            share = k / total[(s, t)]
            if t not in worst or share > worst[t][0]:
                worst[t] = (share, k, total[(s, t)], f"{r} {p} s={s}")
            cells.append(f"{pct(k, total[(s, t)]) + ' ' + p + '@' + s:>22}")
        print(r.ljust(width) + "".join(cells))
    print("worst case".ljust(width) + "".join(f"{100 * worst[t][0]:>22.1f}" for t in types))
    for t in types:
        share, k, n, where = worst[t]
        lo, hi = wilson(k, n)
        print(f"type {t}: worst {k}/{n} = {100 * share:.1f} % (95 % interval {lo:.1f}-{hi:.1f} %) by {where}")


if __name__ == "__main__":
    main()
