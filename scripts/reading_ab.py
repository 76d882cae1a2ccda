"""One blind reading set of several designs, shuffled together.

    python scripts/reading_ab.py OUT KEY COUNT TYPES NAME=SAMPLES:SEED...

(called by `scripts/reading-study make-ab`). Each design's SAMPLES binary
(its checkout's `target/release/samples`) renders COUNT pictures of every
type at s = 2 from its SEED; the pictures of TYPES from every design are
shuffled into OUT as img01.png .., with prompts.tsv and contact sheets as
`scripts/reading-study make` writes them. KEY gets one line a picture:
the file name, NAME/typeT_NNN.png, the answer and the seed. A reader
sees no design: the candidate and its control are read by the same
reader in the same sitting, which a comparison between studies cannot
give (the same pictures read 305 and 315 of 320 in two studies).
"""
import os
import random
import subprocess
import sys
import tempfile

from PIL import Image, ImageDraw


def render(samples, seed, count, types, scratch):
    """(picture, file, answer) of every wanted type the binary renders."""
    subprocess.run(
        [samples, "--out", scratch, "--count", str(count), "--seed", seed, "--scale", "2"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(os.path.join(scratch, "answers.tsv")) as f:
        answers = dict(line.rstrip("\n").split("\t") for line in f if line.strip())
    wanted = sorted(f for f in answers if f[len("type")] in types)
    return [(Image.open(os.path.join(scratch, f)).convert("RGB"), f, answers[f]) for f in wanted]


def contact_sheets(out, names, items):
    """Ten numbered pictures a sheet, two columns, each under its prompt."""
    w, h = items[0][0].size
    label = 16
    for s in range(0, len(items), 10):
        sheet = Image.new("RGB", (2 * w + 30, 5 * (h + label + 10) + 10), "white")
        draw = ImageDraw.Draw(sheet)
        for j, (name, (im, _, answer, _)) in enumerate(zip(names[s : s + 10], items[s : s + 10])):
            x, y = 10 + (j % 2) * (w + 10), 10 + (j // 2) * (h + label + 10)
            draw.text((x, y), f"{name}: type the {len(answer)} letters", fill="black")
            sheet.paste(im, (x, y + label))
        sheet.save(os.path.join(out, f"sheet{s // 10 + 1:02d}.png"))


def main():
    out, key, count, types, *designs = sys.argv[1:]
    if not designs:
        raise SystemExit("give at least one NAME=SAMPLES:SEED")
    items = []
    for design in designs:
        name, _, rest = design.partition("=")
        samples, _, seed = rest.rpartition(":")
        if not (name and samples and seed.isdigit()) or "/" in name:
            raise SystemExit(f"not NAME=SAMPLES:SEED: {design}")
        with tempfile.TemporaryDirectory() as scratch:
            for im, f, answer in render(samples, seed, count, types, scratch):
                im.load()
                items.append((im, f"{name}/{f}", answer, seed))
    # Seeded by the output's name: the same command makes the same set.
    random.Random(out).shuffle(items)
    os.makedirs(out, exist_ok=True)
    digits = 2 if len(items) < 100 else 3
    names = [f"img{i:0{digits}d}.png" for i in range(1, len(items) + 1)]
    with open(key, "w") as k, open(os.path.join(out, "prompts.tsv"), "w") as p:
        for name, (im, f, answer, seed) in zip(names, items):
            im.save(os.path.join(out, name))
            k.write(f"{name}\t{f}\t{answer}\t{seed}\n")
            p.write(f"{name}\tType the {len(answer)} letters in the picture\n")
    contact_sheets(out, names, items)
    print(f"{len(items)} pictures of {len(designs)} designs in {out}, answers in {key}")


if __name__ == "__main__":
    main()
