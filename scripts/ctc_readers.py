"""CTC readers whose per-step class scores an attacker can reach: each runs
its model once per picture and gives the reading as shipped plus the
log-probabilities that scripts/ctc_decode.py decodes (used by
scripts/solver_check.py).

- captcha-whisperer (PyPI): a CRNN + CTC captcha reader on ONNX Runtime,
  weights in the wheel (160x60 input, digits and upper-case letters);
- ddddocr 1.6 (its default and beta models: CTC over a large charset,
  both cases);
- RapidOCR's PP-OCR recogniser (CTC over 6,600 characters);
- SVTRv2-base, the text-captcha reader whose weights azcrawlerpy ships in
  `azcrawlerpy-recaptcha-text` (a vision-transformer recogniser, CTC over
  digits, both cases and punctuation): the held-out check, run, never
  designed against.
"""

import os

import numpy as np


def log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def as_log_probs(out):
    """Scores as log-probabilities, whether the model ends in a softmax or not."""
    out = out.astype(np.float64)
    if out.min() >= 0 and np.allclose(out.sum(axis=-1), 1.0, atol=1e-3):
        return np.log(np.maximum(out, 1e-30))
    return log_softmax(out)


def one_thread_session(model):
    """An ONNX Runtime session (of a file or a model's bytes) on one thread: the check runs beside other
    work under `nice`, and one thread per model costs a third of the CPU
    time two spinning threads do for the same reading."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def chunks(items, size=32):
    """Batches for the model: one run per chunk."""
    return [items[i:i + size] for i in range(0, len(items), size)]


def greedy(logp, labels, blank):
    """The reader's own decoding: best class per step, repeats merged,
    blanks dropped."""
    out = []
    prev = blank
    for k in logp.argmax(axis=1):
        if k != blank and k != prev:
            out.append(labels[k])
        prev = k
    return "".join(out)


class Restrictor:
    """Maps a reader's classes onto `letters` + blank: a letter's score is
    the sum of the probabilities of every class that is that letter in
    either case, or folds to it by `fold` (a str.translate table); everything
    else is dropped and each step renormalised."""

    def __init__(self, labels, blank, letters, fold=None):
        self.letters = letters
        fold = fold or {}
        self.columns = [[i for i, c in enumerate(labels) if c and c.upper().translate(fold) == l] for l in letters]
        self.blank = blank

    def __call__(self, logp):
        cols = [np.logaddexp.reduce(logp[:, c], axis=1) if c else np.full(len(logp), -np.inf)
                for c in self.columns]
        cols.append(logp[:, self.blank])
        return log_softmax(np.stack(cols, axis=1))


class Whisperer:
    name = "captcha-whisperer"

    def __init__(self):
        from captcha_whisperer import CaptchaRecognizer
        from captcha_whisperer.constants import BLANK_INDEX, LABELS
        from captcha_whisperer.preprocess import preprocess_array

        self.rec = CaptchaRecognizer(threads=1)
        self.prep = preprocess_array
        # Class 0 ("0") is never emitted by its decoder; the blank is last.
        self.labels = ["" if i in (0, BLANK_INDEX) else c for i, c in enumerate(LABELS)]
        self.blank = BLANK_INDEX

    def run(self, imgs):
        logps = []
        for chunk in chunks(imgs):
            batch = np.concatenate([self.prep(np.asarray(im.convert("RGB"))[:, :, ::-1]) for im in chunk])
            out = self.rec._session.run(None, {self.rec._input_name: batch})[0]  # (T, N, C)
            logps += [as_log_probs(out[:, n, :]) for n in range(out.shape[1])]
        # As shipped: greedy over every class but "0".
        texts = []
        for lp in logps:
            lp = lp.copy()
            lp[:, 0] = -np.inf
            texts.append(greedy(lp, self.labels, self.blank))
        return texts, logps


class Dddd:
    """ddddocr's default or beta model on one thread, fed as ddddocr feeds
    it (its own resizing and normalising). The beta model runs in batches
    of pictures of one size: its graph fixes the batch at one, but nothing
    in it mixes pictures, and batched outputs equal single ones bit for
    bit (scripts/solver_batch_check.py). The default model stays one
    picture a run: it quantises activations with one scale per tensor
    (DynamicQuantizeLinear), so a batch would change every picture's
    reading."""

    def __init__(self, beta):
        import ddddocr

        self.name = "ddddocr-beta" if beta else "ddddocr"
        self.ocr = ddddocr.DdddOcr(beta=beta, show_ad=False)
        self.engine = self.ocr.ocr_engine
        # The same weights ddddocr loads (its model_loader), on one thread.
        path = os.path.join(os.path.dirname(ddddocr.__file__), "common.onnx" if beta else "common_old.onnx")
        self.batch = 32 if beta else 1
        self.session = one_thread_session(any_batch(path) if beta else path)
        self.labels = self.engine.charset_manager.get_charset()
        self.blank = 0

    def run(self, imgs):
        name = self.session.get_inputs()[0].name
        arrs = [self.engine._preprocess_image(im.convert("RGB"), False) for im in imgs]
        logps = [None] * len(imgs)
        for shape in {a.shape for a in arrs}:
            same = [i for i, a in enumerate(arrs) if a.shape == shape]
            for chunk in chunks(same, self.batch):
                out = self.session.run(None, {name: np.concatenate([arrs[i] for i in chunk])})[0]  # (T, N, C)
                for n, i in enumerate(chunk):
                    logps[i] = as_log_probs(out[:, n, :])
        return [greedy(lp, self.labels, self.blank) for lp in logps], logps


def any_batch(path):
    """The ONNX model at `path` with its batch dimension left free (its
    input's first and output's second), as bytes for ONNX Runtime."""
    import onnx

    model = onnx.load(path)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    out = model.graph.output[0].type.tensor_type.shape
    out.ClearField("dim")
    for name in ("steps", "batch", "classes"):
        out.dim.add().dim_param = name
    return model.SerializeToString()


class Rapid:
    name = "rapidocr"

    def __init__(self):
        from rapidocr_onnxruntime import RapidOCR

        self.rec = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1).text_rec
        self.labels = list(self.rec.postprocess_op.character)
        self.labels[0] = ""
        self.blank = 0

    def run(self, imgs):
        import cv2

        logps = []
        _, h, w = self.rec.rec_image_shape
        for chunk in chunks(imgs):
            arrs = [cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR) for im in chunk]
            # Padded to one width per batch, as RapidOCR's own batches are.
            ratio = max([w / h] + [a.shape[1] / a.shape[0] for a in arrs])
            batch = np.stack([self.rec.resize_norm_img(a, ratio) for a in arrs]).astype(np.float32)
            out = self.rec.session(batch)[0]
            logps += [as_log_probs(o) for o in out]
        texts = ["".join(ch for ch in greedy(lp, self.labels, self.blank) if ch.isalnum()) for lp in logps]
        return texts, logps


class Svtr:
    """SVTRv2 as azcrawlerpy 1.5.2 runs it (captcha/text/recognizer.py,
    whose package needs Python 3.13 and a browser, so its thirty lines are
    mirrored here): a small chooser scores four input sizes from a 16x64
    thumbnail and the picture's proportions, the picture is resized
    bicubically to the chosen size, and the recogniser's class
    probabilities (blank first) are decoded greedily."""

    name = "svtrv2"
    SHAPES = ((64, 64), (48, 96), (40, 112), (32, 128))

    def __init__(self):
        import string

        import azcrawlerpy_recaptcha_text as weights

        folder = os.path.dirname(weights.__file__)
        self.session = one_thread_session(os.path.join(folder, "svtrv2.onnx"))
        self.selector = one_thread_session(os.path.join(folder, "selector.onnx"))
        charset = string.digits + string.ascii_lowercase + string.ascii_uppercase + string.punctuation
        self.labels = [""] + list(charset)
        self.blank = 0

    @staticmethod
    def prepare(im, shape):
        from PIL import Image

        h, w = shape
        arr = np.asarray(im.convert("RGB").resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)
        return ((arr / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)

    def choose(self, imgs):
        ratios = np.array([im.size[0] / max(1, im.size[1]) for im in imgs], dtype=np.float32)
        shape = np.stack([np.minimum(ratios, 8.0) / 4.0, np.log(ratios)], axis=1).astype(np.float32)
        thumbs = np.stack([self.prepare(im, (16, 64)) for im in imgs])
        return self.selector.run(None, {"thumb": thumbs, "shape": shape})[0].argmax(axis=1).tolist()

    def run(self, imgs):
        logps = [None] * len(imgs)
        picks = self.choose(imgs)
        for band in sorted(set(picks)):
            rows = [i for i, b in enumerate(picks) if b == band]
            for chunk in chunks(rows):
                batch = np.stack([self.prepare(imgs[i], self.SHAPES[band]) for i in chunk])
                out = self.session.run(None, {"image": batch})[0]  # (N, T, C)
                for i, o in zip(chunk, out):
                    logps[i] = as_log_probs(o)
        return [greedy(lp, self.labels, self.blank) for lp in logps], logps


READERS = {
    "captcha-whisperer": Whisperer,
    "ddddocr": lambda: Dddd(False),
    "ddddocr-beta": lambda: Dddd(True),
    "rapidocr": Rapid,
    "svtrv2": Svtr,
}
