//! Writes sample captchas as PNG files plus an `answers.tsv`.
//!
//! ```text
//! cargo run --release --example samples -- --out DIR [--type T] [--count N] [--seed S] [--audio [--clean]]
//! ```
//!
//! With `--audio` it also writes each captcha's spoken version, the WAV file
//! of the same type and seed, next to its picture (`type5_000.wav`), and
//! their answers (the pictures' answers) to `audio.tsv`. With `--clean` as
//! well, each clip's letters alone, without babble and noise
//! (`type5_000.clean.wav`), the reference of `scripts/audio-attack`'s ESTOI.
//!
//! Without `--type` it writes every type 1..=8. `--count` is per type
//! (default 10). Without `--seed` a random one is taken from the OS and
//! printed, so a run can be repeated exactly.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use qcaptcha::{generate, generate_audio, AudioGenerator, CaptchaType};
use rand::TryRngCore;

struct Args {
    out: PathBuf,
    kinds: Vec<CaptchaType>,
    count: u64,
    seed: u64,
    audio: bool,
    clean: bool,
}

fn parse() -> Result<Args, String> {
    let mut out = None;
    let mut kinds = CaptchaType::ALL.to_vec();
    let mut count = 10;
    let mut seed = None;
    let mut audio = false;
    let mut clean = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--type" => {
                let t: i64 = value()?.parse().map_err(|e| format!("--type: {e}"))?;
                kinds = vec![CaptchaType::try_from(t).map_err(|e| e.to_string())?];
            }
            "--count" => count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--seed" => seed = Some(value()?.parse().map_err(|e| format!("--seed: {e}"))?),
            "--audio" => audio = true,
            "--clean" => clean = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let seed = match seed {
        Some(s) => s,
        None => rand::rngs::OsRng
            .try_next_u64()
            .map_err(|e| format!("OS random: {e}"))?,
    };
    Ok(Args {
        out: out.ok_or("--out DIR is required")?,
        kinds,
        count,
        seed,
        audio,
        clean,
    })
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.out)?;
    let mut answers = String::new();
    let mut audio_answers = String::new();
    let mut letters = AudioGenerator::new();
    for &kind in &args.kinds {
        for i in 0..args.count {
            let seed = args.seed.wrapping_add(i);
            let captcha = generate(kind, seed)?;
            let name = format!("type{}_{:03}.png", kind.code(), i);
            std::fs::write(args.out.join(&name), captcha.png())?;
            writeln!(answers, "{name}\t{}", captcha.answer())?;
            if args.audio {
                let clip = generate_audio(kind, seed)?;
                let name = format!("type{}_{:03}.wav", kind.code(), i);
                std::fs::write(args.out.join(&name), clip.wav())?;
                writeln!(audio_answers, "{name}\t{}", clip.answer())?;
                if args.clean {
                    let mut wav = Vec::new();
                    letters.render_letters_into(kind, seed, &mut wav)?;
                    std::fs::write(args.out.join(name.replace(".wav", ".clean.wav")), wav)?;
                }
            }
        }
    }
    std::fs::write(args.out.join("answers.tsv"), answers)?;
    if args.audio {
        std::fs::write(args.out.join("audio.tsv"), audio_answers)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!(
                "usage: samples --out DIR [--type 1..8] [--count N] [--seed S] [--audio [--clean]]"
            );
            return ExitCode::from(2);
        }
    };
    println!("seed {}", args.seed);
    match run(&args) {
        Ok(()) => {
            let n = args.kinds.len() as u64 * args.count;
            let audio = if args.audio {
                ", their WAV files and audio.tsv"
            } else {
                ""
            };
            println!(
                "wrote {n} captchas{audio} and answers.tsv to {}",
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
