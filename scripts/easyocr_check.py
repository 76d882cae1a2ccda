"""Checks the solver check's EasyOCR reader (`EasyOcr` in ctc_readers.py,
ONNX Runtime, no PyTorch) against EasyOCR itself, on clear pictures only.

Run in a scratch venv that has what the check's venv has plus
`easyocr==1.7.2` (and so PyTorch, which the check's venv does without):

    python scripts/easyocr_check.py DIR [PREPS] [--quantize]

DIR holds subfolders s1, s2, s3 as tools/samples writes them; only the
pictures of types 1-4 are read (the held-out reader stays unseen on the
interference types). PREPS (default none) are preprocessings of
solver_preps.py. For each picture it compares EasyOCR's
`Reader(['en']).recognize` reading (spaces and punctuation dropped, as
the check's "as shipped" drops them) with the check's, and the two
networks' logits on the same input. EasyOCR on a CPU quantises its LSTMs
and linear layers to 8 bits unless told `quantize=False`: without
--quantize the float model is compared (the one the check runs).
"""

import argparse
import glob
import os
import sys

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctc_readers  # noqa: E402
from solver_preps import Preparer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("preps", nargs="?", default="none")
    ap.add_argument("--quantize", action="store_true", help="EasyOCR's default on a CPU")
    args = ap.parse_args()
    torch.set_num_threads(1)
    import easyocr
    import easyocr_en_models

    reader = easyocr.Reader(["en"], gpu=False, model_storage_directory=easyocr_en_models.model_dir(),
                            download_enabled=False, detector=False, verbose=False, quantize=args.quantize)
    mine = ctc_readers.EasyOcr()
    same = differ = 0
    largest = 0.0
    for prep in args.preps.split(","):
        for folder in sorted(glob.glob(os.path.join(args.dir, "s*"))):
            files = sorted(os.path.basename(f) for f in glob.glob(os.path.join(folder, "type[1234]_*.png")))
            if not files:
                continue
            prepare = Preparer(folder, None)
            imgs = [prepare(prep, f) for f in files]
            texts, _ = mine.run(imgs)
            for f, im, text in zip(files, imgs, texts):
                grey = cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2GRAY)
                theirs = "".join(ch for ch in reader.recognize(grey, detail=1)[0][1] if ch.isalnum())
                if theirs == text:
                    same += 1
                else:
                    differ += 1
                    print(f"{prep} {os.path.basename(folder)} {f}: EasyOCR {theirs!r}, the check {text!r}")
            # The networks alone, on the check's first-pass input.
            greys = [cv2.resize(cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2GRAY),
                                (int(mine.HEIGHT * im.width / im.height), mine.HEIGHT)) for im in imgs[:16]]
            width = -(-imgs[0].width // imgs[0].height) * mine.HEIGHT
            batch = np.stack([mine.prepare(g, width, False) for g in greys])
            with torch.no_grad():
                ref = reader.recognizer(torch.from_numpy(batch), None).numpy()
            ours = mine.session.run(None, {"image": batch})[0]
            largest = max(largest, float(np.abs(ref - ours).max()))
    print(f"{same} readings the same, {differ} different; largest logit difference {largest:.2e}")


if __name__ == "__main__":
    main()
