"""The preprocessings an attacker tries on a picture before a solver reads
it (scripts/solver_check.py runs them): the obvious ones (Otsu, inversion,
median, closing, contour fill) and those of one who has read the renderer
(`unflip`, `marginflip`, `colphase`, `rowphase`).

A name "a+b" is b applied to a's output (`colphase+median3`: the 3x3
median of what `colphase` gives), so a unit of work computes `colphase`
once for both. `Preparer` keeps every prepared picture of a run and, given
a folder, on disk as PNG (lossless), keyed by this file's contents: a later
run on the same pictures, with other solvers, reads them back instead of
computing them again (`marginflip` and `rowphase` cost 45-90 ms a picture
at s = 3).
"""

import hashlib
import os

import cv2
import numpy as np
from PIL import Image


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


def outside_stripes(g):
    """The outside stripes' wave vector (cycles per pixel, x and y), from
    the picture's spectrum: the stripes around the word cover most of the
    area, so their frequency is the strongest peak in the ring of periods
    the renderer uses (0.12-0.5 h across the stripes, any tilt)."""
    h, w = g.shape
    s = g.astype(np.float32) / 255.0
    s = (s - s.mean()) * np.outer(np.hanning(h), np.hanning(w))
    return ring_peak(np.abs(np.fft.fft2(s)), h)


def ring_peak(spec, h, periods=(0.12, 0.5), tilts=None):
    """The wave vector (cycles per pixel, x and y) of the strongest peak of
    the magnitude spectrum `spec` in the ring of periods the renderer uses
    for its stripes (`periods`, shares of the picture height `h`: 0.12-0.5
    covers every design so far), and when `tilts` is given only where the
    stripes' tilt from the horizontal (either way) lies within it, in
    degrees."""
    fy = np.fft.fftfreq(spec.shape[0])[:, None]
    fx = np.fft.fftfreq(spec.shape[1])[None, :]
    radius = np.hypot(fx, fy)
    ring = (radius > 1 / (periods[1] * h)) & (radius < 1 / (periods[0] * h))
    if tilts is not None:
        # The wave vector is square to the stripes: a tilt t has it t from
        # the vertical.
        tilt = np.degrees(np.arctan2(np.abs(fx), np.abs(fy)))
        ring &= (tilt >= tilts[0]) & (tilt <= tilts[1])
    iy, ix = np.unravel_index(np.argmax(np.where(ring, spec, 0)), spec.shape)
    return fx[0, ix], fy[iy, 0]


def gabor_energy(s, fx, fy, sigma):
    """Local amplitude of the stripes of wave vector (fx, fy) in s (float,
    zero mean): a complex Gabor filter's magnitude."""
    r = int(3 * sigma) | 1
    ys, xs = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
    env = np.exp(-(xs**2 + ys**2) / (2 * sigma**2))
    arg = 2 * np.pi * (fx * xs + fy * ys)
    re = env * np.cos(arg)
    im = env * np.sin(arg)
    re -= env * re.sum() / env.sum()  # no response to flat areas
    re, im = re / env.sum(), im / env.sum()
    a = cv2.filter2D(s, cv2.CV_32F, re)
    b = cv2.filter2D(s, cv2.CV_32F, im)
    return np.sqrt(a * a + b * b)


def stripe_energy(g, estimate=None):
    """The attacker who has read the renderer, against letters drawn as a
    change of the stripes' period or tilt (rather than of their phase):
    outside the letters the stripes have one period and tilt, found from
    the spectrum; a Gabor filter tuned to them answers strongly there and
    weakly where the stripes run at another period or tilt. Its local
    energy, smoothed and normalised, is the letters dark on white. Against
    stripes moved in phase alone it keeps the outline (where the stripes
    break the energy drops), so it is tried on every design. `estimate`
    finds the stripes' wave vector (`outside_stripes` when not given)."""
    fx, fy = (estimate or outside_stripes)(g)
    period = 1.0 / max(np.hypot(fx, fy), 1e-6)
    s = g.astype(np.float32) / 255.0
    s = s - cv2.GaussianBlur(s, (0, 0), period)
    # A quarter period: narrow enough to keep a letter's stroke (wider
    # blurs the letters away), and still no answer to stripes of 0.6 of
    # the period or less, or turned by 60 degrees or more.
    e = gabor_energy(s, fx, fy, 0.25 * period)
    e = cv2.GaussianBlur(e, (0, 0), 0.1 * period)
    top = np.percentile(e, 75)
    out = np.clip(e / max(top, 1e-6), 0, 1)
    return (out * 255).astype(np.uint8)


def prep_energy(img):
    return Image.fromarray(stripe_energy(ink_dark(grey(img))))


def outside_stripes_welch(g, periods=(0.12, 0.5), tilts=None):
    """`outside_stripes` made robust to regions of the stripes moved in
    phase (seams that are not letters): the magnitude spectra of square
    windows a height wide, half a height apart, summed (phase jumps between
    windows no longer split the peak), zero-padded to four heights."""
    h, w = g.shape
    s = g.astype(np.float32) / 255.0
    n = 4 * h
    total = np.zeros((n, n), np.float32)
    win = np.outer(np.hanning(h), np.hanning(h))
    for x in range(0, max(w - h, 0) + 1, max(h // 2, 1)):
        p = s[:, x:x + h]
        p = (p - p.mean()) * win
        total += np.abs(np.fft.fft2(p, (n, n)))
    return ring_peak(total, h, periods, tilts)


def outside_stripes_narrow(g):
    """The stripes' wave vector for an attacker who has read the renderer,
    robust to letters that move the stripes by nearly half a period
    (whose own stripes then cancel the outside's peak in the spectrum):
    every stripe has two edges, moved or not, so the edges' strength
    (the gradient's magnitude) repeats at twice the stripes' frequency
    whatever the phase. Its Welch-summed spectrum's peak in the ring of
    half the periods and within the tilts the renderer draws today
    (`STRIPES` in src/render/style.rs, 0.24-0.27 h across the stripes;
    `BANDS.tilt`, 29-46 degrees; each with a margin), halved."""
    s = g.astype(np.float32) / 255.0
    gx = cv2.Sobel(s, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(s, cv2.CV_32F, 0, 1)
    edges = np.sqrt(gx * gx + gy * gy)
    edges = (edges / max(edges.max(), 1e-6) * 255).astype(np.uint8)
    fx, fy = outside_stripes_welch(edges, (0.1, 0.17), (25, 50))
    return fx / 2, fy / 2


def prep_energy_narrow(img):
    """`energy` with the stripes' wave vector from `outside_stripes_narrow`."""
    return Image.fromarray(stripe_energy(ink_dark(grey(img)), outside_stripes_narrow))


def prep_energy_welch(img):
    """`energy` with the stripes' wave vector from `outside_stripes_welch`."""
    return Image.fromarray(stripe_energy(ink_dark(grey(img)), outside_stripes_welch))


def prep_colphase(img):
    return Image.fromarray(column_phase(ink_dark(grey(img))))


def prep_rowphase(img):
    return Image.fromarray(row_column_phase(ink_dark(grey(img))))


def prep_marginflip(img):
    return Image.fromarray(margin_flip(ink_dark(grey(img))))


def prep_unflip(img):
    return Image.fromarray(flip_bands(grey(img)))


def prep_unflip_wide(img):
    return Image.fromarray(flip_bands(grey(img), 3))


def prep_fill(img):
    """Against hollow / outlined glyphs: fill closed dark contours."""
    g = ink_dark(grey(img))
    _, b = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(b, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    filled = b.copy()
    cv2.drawContours(filled, contours, -1, 255, cv2.FILLED)
    return Image.fromarray(255 - filled)


STEPS = {
    "none": prep_none,
    "otsu": prep_otsu,
    "invert": prep_invert,
    "median3": prep_median,
    "close3": prep_close,
    # The attacks of someone who read our source (see docs/solvers.md).
    "unflip": prep_unflip,
    "unflip-wide": prep_unflip_wide,
    "fill": prep_fill,
    "marginflip": prep_marginflip,
    # Against letters drawn by reversing stripes (see column_phase).
    "colphase": prep_colphase,
    # Against the stripes' ripple down the rows (see row_column_phase).
    "rowphase": prep_rowphase,
    # Against letters drawn by a change of stripe period or tilt (see
    # stripe_energy).
    "energy": prep_energy,
    # The same, with a frequency estimate that seams do not throw off (see
    # prep_energy_welch).
    "energy-welch": prep_energy_welch,
    # The same, searching only today's stripe periods (see
    # outside_stripes_narrow).
    "energy-narrow": prep_energy_narrow,
}

# Every preprocessing the check tries, in the order it runs them.
PREPS = [
    "none", "otsu", "invert", "median3", "close3",
    "unflip", "unflip-wide", "unflip+otsu", "unflip+median3", "fill",
    "marginflip", "marginflip+median3",
    "colphase", "colphase+median3",
    "rowphase", "rowphase+median3",
    "energy", "energy-welch", "energy-narrow",
]


def digest():
    """A digest of this file: prepared pictures on disk are only reused by
    the code that made them."""
    with open(__file__, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


VERSION = digest()


class Preparer:
    """The pictures of one folder after preprocessings, each step made
    once: in memory for one unit of work, and under `cache` (if given) for
    later units and runs."""

    def __init__(self, folder, cache=None):
        self.folder = folder
        self.cache = cache and os.path.join(cache, VERSION)
        self.memo = {}

    def __call__(self, name, file):
        key = (name, file)
        if key not in self.memo:
            self.memo[key] = self.load(name, file) or self.make(name, file)
        return self.memo[key]

    def make(self, name, file):
        first, _, last = name.rpartition("+")
        if first:
            img = STEPS[last](self(first, file))
        elif name == "none":
            return Image.open(os.path.join(self.folder, file)).convert("RGB")
        else:
            img = STEPS[name](self("none", file))
        self.store(name, file, img)
        return img

    def path(self, name, file):
        return os.path.join(self.cache, name, file)

    def load(self, name, file):
        if not self.cache or name == "none" or not os.path.exists(self.path(name, file)):
            return None
        with Image.open(self.path(name, file)) as im:
            return im.copy()

    def store(self, name, file, img):
        if self.cache:
            path = self.path(name, file)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            # Written aside and renamed: a process of the same run may be
            # reading it.
            img.save(f"{path}.{os.getpid()}.png")
            os.replace(f"{path}.{os.getpid()}.png", path)
