"""Reads captchas with off-the-shelf solvers, as a zero-effort attacker would.

Run by scripts/solver-check inside its venv:

    python scripts/solver_check.py DIR ALPHABET [INTERFERENCE_ALPHABET] [--detail FILE] [--solvers a,b] [--preps a,b]

DIR holds PNGs named typeT_NNN.png and answers.tsv (`<file>\\t<answer>`), as
the samples example writes them. Every solver runs on every picture after
every preprocessing; a read counts when it equals the whole answer,
case-insensitive. Prints one table, solver x type, with the best
preprocessing for that solver and type, and writes every (solver,
preprocessing, type) figure to --detail.
"""

import argparse
import collections
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
from PIL import Image


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
}


# --- solvers ---

class Dddd:
    def __init__(self, beta, alphabet):
        import ddddocr

        self.ocr = ddddocr.DdddOcr(beta=beta, show_ad=False)
        if alphabet:
            # Upper and lower case: the model often answers in lower case and
            # checking is case-insensitive.
            self.ocr.set_ranges(alphabet + alphabet.lower())

    def read_all(self, imgs):
        return [self.ocr.classification(im) for im in imgs]


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


class Rapid:
    """RapidOCR (PP-OCR models shipped inside the rapidocr_onnxruntime wheel),
    recognition only: the whole picture is one text line."""

    def __init__(self):
        from rapidocr_onnxruntime import RapidOCR

        self.ocr = RapidOCR()

    def read_all(self, imgs):
        reads = []
        for im in imgs:
            arr = cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR)
            res, _ = self.ocr(arr, use_det=False, use_cls=False, use_rec=True)
            text = res[0][0] if res else ""
            reads.append("".join(ch for ch in text if ch.isalnum()))
        return reads


def make_solvers(alphabet, names):
    makers = {
        "ddddocr": lambda: Dddd(False, None),
        "ddddocr+ranges": lambda: Dddd(False, alphabet),
        "ddddocr-beta": lambda: Dddd(True, None),
        "ddddocr-beta+ranges": lambda: Dddd(True, alphabet),
        "tesseract": lambda: Tesseract(alphabet, 1),
        "tesseract-x3": lambda: Tesseract(alphabet, 3),
        "rapidocr": Rapid,
    }
    out = {}
    for n in names:
        try:
            out[n] = makers[n]()
        except ImportError as e:
            print(f"skipping {n}: {e}", file=sys.stderr)
    return out


ALL_SOLVERS = "ddddocr,ddddocr+ranges,ddddocr-beta,ddddocr-beta+ranges,tesseract,tesseract-x3,rapidocr"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("alphabet", help="letters of the clear types' answers")
    ap.add_argument("interference_alphabet", nargs="?",
                    help="letters of types 5-8 (default: the same as ALPHABET)")
    ap.add_argument("--detail", help="write every solver x preprocessing x type figure here (TSV)")
    ap.add_argument("--solvers", default=ALL_SOLVERS)
    ap.add_argument("--preps", default=",".join(PREPS))
    ap.add_argument("--types", default="12345678", help="which types to read, e.g. 5678")
    ap.add_argument("--reads", help="write every read here (TSV), for looking at misreads")
    args = ap.parse_args()

    answers = {}
    for line in open(os.path.join(args.dir, "answers.tsv")):
        f, a = line.rstrip("\n").split("\t")
        answers[f] = a
    files = [f for f in sorted(answers) if f[len("type")] in args.types]
    kind = {f: f[len("type"): f.index("_")] for f in files}
    types = sorted(set(kind.values()))
    originals = [Image.open(os.path.join(args.dir, f)).convert("RGB") for f in files]
    preps = args.preps.split(",")
    prepared = {p: [PREPS[p](im) for im in originals] for p in preps}
    # The attacker restricts a solver to the letters the type draws from:
    # the interference types use fewer.
    interference = args.interference_alphabet or args.alphabet
    alphabet_of = {t: interference if t in "5678" else args.alphabet for t in types}
    by_alphabet = {}
    for i, f in enumerate(files):
        by_alphabet.setdefault(alphabet_of[kind[f]], []).append(i)
    solver_sets = {a: make_solvers(a, args.solvers.split(",")) for a in by_alphabet}
    solvers = next(iter(solver_sets.values())) if solver_sets else {}

    # hits[(solver, prep, type)] = exact reads
    hits = collections.Counter()
    total = collections.Counter(kind[f] for f in files)
    reads_out = open(args.reads, "w") if args.reads else None
    for sname in solvers:
        for p in preps:
            reads = [""] * len(files)
            for a, indices in by_alphabet.items():
                got = solver_sets[a][sname].read_all([prepared[p][i] for i in indices])
                for i, r in zip(indices, got):
                    reads[i] = r
            for f, got in zip(files, reads):
                ok = got.strip().upper() == answers[f].upper()
                hits[(sname, p, kind[f])] += ok
                if reads_out:
                    reads_out.write(f"{sname}\t{p}\t{f}\t{answers[f]}\t{got}\t{int(ok)}\n")
        print(f"  {sname} done", file=sys.stderr, flush=True)

    def pct(n, t):
        return f"{100.0 * n / t:.1f}"

    if args.detail:
        with open(args.detail, "w") as d:
            d.write("solver\tpreprocessing\t" + "\t".join(f"type {t}" for t in types) + "\n")
            for s in solvers:
                for p in preps:
                    row = [pct(hits[(s, p, t)], total[t]) for t in types]
                    d.write(f"{s}\t{p}\t" + "\t".join(row) + "\n")

    n = min(total.values())
    print(f"exact % (whole answer, case-insensitive), best preprocessing per cell, {n} pictures per type")
    print(f"preprocessings tried: {', '.join(preps)}")
    width = max(len(s) for s in solvers) + 2
    print("solver".ljust(width) + "".join(f"{'type ' + t:>16}" for t in types))
    best_any = collections.Counter()
    for s in solvers:
        cells = []
        for t in types:
            bp = max(preps, key=lambda p: hits[(s, p, t)])
            best_any[t] = max(best_any[t], hits[(s, bp, t)])
            cells.append(f"{pct(hits[(s, bp, t)], total[t]) + ' ' + bp:>16}")
        print(s.ljust(width) + "".join(cells))
    print("worst case".ljust(width) + "".join(f"{pct(best_any[t], total[t]):>16}" for t in types))


if __name__ == "__main__":
    main()
