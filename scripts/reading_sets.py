"""The reading study's sets and scores (`scripts/reading-study` is the
front end: it renders with the crate's `samples` tool and calls these).

    python scripts/reading_sets.py make RAW OUT KEY SEED SCALE
    python scripts/reading_sets.py make-ab OUT KEY COUNT TYPES NAME[@TYPES]=SAMPLES:SEED...
    python scripts/reading_sets.py score KEY... READINGS...

`make` shuffles the interference pictures `samples` wrote to RAW into a
set; `make-ab` renders several designs, each with its own checkout's
`samples` binary and seed, and shuffles them into one set, so that a
candidate and its control are read by the same reader in the same
sitting, which a comparison between studies cannot give (the same
pictures read 305 and 315 of 320 in two studies). A design may name its
own types (`cand@6=...`): a candidate and its control of type 6 among
fillers of other types keep the mix of lengths a mixed set has. A set is OUT/img01.png
.., OUT/prompts.tsv (the widget's prompt, which names the letter count)
and contact sheets of ten; KEY has one line a picture: its name, the
picture (`typeT_NNN.png`, or `DESIGN/typeT_NNN.png` with the seed in a
fourth column), the answer. `score` counts what the check accepts.
"""
import os
import random
import subprocess
import sys
import tempfile

from PIL import Image, ImageDraw

import answer_folds

# The interference types, the only ones a study reads.
STUDIED = "5678"


def answers_in(folder):
    """{file: answer} as `samples` writes answers.tsv."""
    with open(os.path.join(folder, "answers.tsv")) as f:
        return dict(line.rstrip("\n").split("\t") for line in f if line.strip())


def write_set(out, key, items):
    """Writes the shuffled `items`, (picture, key columns), as a set: the
    pictures, the prompts and the contact sheets in OUT, the key in KEY.
    The key columns are the picture's name, its answer and anything after."""
    os.makedirs(out, exist_ok=True)
    digits = 2 if len(items) < 100 else 3
    names = [f"img{i:0{digits}d}.png" for i in range(1, len(items) + 1)]
    with open(key, "w") as k, open(os.path.join(out, "prompts.tsv"), "w") as p:
        for name, (im, columns) in zip(names, items):
            im.save(os.path.join(out, name))
            k.write("\t".join([name, *columns]) + "\n")
            # What the widget says above each picture: its letter count.
            p.write(f"{name}\tType the {len(columns[1])} letters in the picture\n")
    contact_sheets(out, names, items)


def contact_sheets(out, names, items):
    """Ten numbered pictures a sheet, two columns, each under its prompt."""
    w, h = items[0][0].size
    label = 16
    for s in range(0, len(items), 10):
        sheet = Image.new("RGB", (2 * w + 30, 5 * (h + label + 10) + 10), "white")
        draw = ImageDraw.Draw(sheet)
        for j, (name, (im, columns)) in enumerate(zip(names[s : s + 10], items[s : s + 10])):
            x, y = 10 + (j % 2) * (w + 10), 10 + (j // 2) * (h + label + 10)
            draw.text((x, y), f"{name}: type the {len(columns[1])} letters", fill="black")
            sheet.paste(im, (x, y + label))
        sheet.save(os.path.join(out, f"sheet{s // 10 + 1:02d}.png"))


def make(raw, out, key, seed, scale):
    """The interference pictures in RAW, shuffled by SEED; at scale 1
    (which the widget never serves) 3x upscaled, so the eye can read them."""
    answers = answers_in(raw)
    files = [f for f in sorted(answers) if f[len("type")] in STUDIED]
    random.Random(seed).shuffle(files)
    items = []
    for f in files:
        im = Image.open(os.path.join(raw, f)).convert("RGB")
        if scale == "1":
            im = im.resize((im.width * 3, im.height * 3), Image.LANCZOS)
        items.append((im, [f, answers[f]]))
    write_set(out, key, items)
    print(f"{len(files)} pictures in {out}, answers in {key} (seed {seed})")


def make_ab(out, key, count, types, *designs):
    """COUNT pictures of each of TYPES (or of the design's own, NAME@TYPES)
    per design, rendered at s = 2 by each design's SAMPLES from its SEED,
    shuffled by OUT (the same command makes the same set)."""
    if not designs:
        raise SystemExit("give at least one NAME[@TYPES]=SAMPLES:SEED")
    items = []
    for design in designs:
        label, _, rest = design.partition("=")
        name, _, own = label.partition("@")
        samples, _, seed = rest.rpartition(":")
        if not (name and samples and seed.isdigit()) or "/" in name or not set(own) <= set(STUDIED):
            raise SystemExit(f"not NAME[@TYPES]=SAMPLES:SEED: {design}")
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(
                [samples, "--out", scratch, "--count", count, "--seed", seed, "--scale", "2"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            answers = answers_in(scratch)
            for f in sorted(f for f in answers if f[len("type")] in (own or types)):
                im = Image.open(os.path.join(scratch, f)).convert("RGB")
                items.append((im, [f"{name}/{f}", answers[f], seed]))
    random.Random(out).shuffle(items)
    write_set(out, key, items)
    print(f"{len(items)} pictures of {len(designs)} designs in {out}, answers in {key}")


def score(*files):
    """KEY... READINGS...: the i-th readings file goes with the i-th key;
    names are kept apart per pair, so several sets score as one study.
    Prints the misreads, then exact and accepted per design and type."""
    half = len(files) // 2
    key, read = [], {}
    for i, (key_file, read_file) in enumerate(zip(files[:half], files[half:])):
        tag = f"{i + 1}:" if half > 1 else ""
        with open(key_file) as f:
            rows = [line.rstrip("\n").split("\t")[:3] for line in f if line.strip()]
        key += [[tag + n, picture, answer] for n, picture, answer in rows]
        with open(read_file) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2:
                    read[tag + parts[0]] = parts[1].replace(" ", "").upper()
    # Every study picture is of an interference type: checked with both sets of folds.
    fold = answer_folds.table(interference=True)
    counts = {}
    for name, picture, answer in key:
        got = read.get(name, "")
        # Both sides folded, as the checker does.
        exact, accepted = got == answer, got.translate(fold) == answer.translate(fold)
        design, _, file = picture.rpartition("/")
        c = counts.setdefault((design, file[len("type")]), [0, 0, 0])
        c[0] += exact
        c[1] += accepted
        c[2] += 1
        if not accepted:
            print(f"{name} ({picture}): {answer} read as {got or '(nothing)'}")
    rows = [(f"{d} {t}".strip(), c) for (d, t), c in sorted(counts.items())]
    for d in sorted({d for d, _ in counts}):
        total = [sum(c[i] for (e, _), c in counts.items() if e == d) for i in range(3)]
        rows.append((f"{d} all".strip(), total))
    width = max(4, *(len(label) for label, _ in rows))
    print(f"{'type':>{width}}  exact  accepted  of")
    for label, (exact, accepted, n) in rows:
        print(f"{label:>{width}}  {exact:>5}  {accepted:>8}  {n}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"make": make, "make-ab": make_ab, "score": score}[command](*args)
