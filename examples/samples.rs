//! Writes sample captchas as PNG files plus an `answers.tsv`.
//!
//! ```text
//! cargo run --release --example samples -- --out DIR [--type T] [--count N] [--seed S] [--scale S] [--audio]
//! ```
//!
//! `--scale S` (1 to 3, default 1) renders at S times the default size, as
//! the service's image route does for `s=S`: same answers, more pixels.
//!
//! With `--audio` it also writes each captcha's spoken version, the WAV file
//! of the same type and seed, next to its picture (`type5_000.wav`), and
//! their answers (the pictures' answers) to `audio.tsv`.
//!
//! Without `--type` it writes every type 1..=8. `--count` is per type
//! (default 10). Without `--seed` a random one is taken from the OS and
//! printed, so a run can be repeated exactly.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use qcaptcha::{
    generate_audio,
    picture::{DEFAULT_HEIGHT, DEFAULT_WIDTH},
    CaptchaType, Generator, Options,
};
use rand::TryRngCore;

struct Args {
    out: PathBuf,
    kinds: Vec<CaptchaType>,
    count: u64,
    seed: u64,
    scale: u32,
    audio: bool,
}

fn parse() -> Result<Args, String> {
    let mut out = None;
    let mut kinds = CaptchaType::ALL.to_vec();
    let mut count = 10;
    let mut seed = None;
    let mut scale = 1;
    let mut audio = false;
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
            "--scale" => {
                scale = value()?.parse().map_err(|e| format!("--scale: {e}"))?;
                if !(1..=3).contains(&scale) {
                    return Err("--scale: 1, 2 or 3".into());
                }
            }
            "--audio" => audio = true,
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
        scale,
        audio,
    })
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.out)?;
    let mut answers = String::new();
    let mut audio_answers = String::new();
    let size = (DEFAULT_WIDTH * args.scale, DEFAULT_HEIGHT * args.scale);
    let mut generator = Generator::new(Options::default().size(size.0, size.1))?;
    for &kind in &args.kinds {
        for i in 0..args.count {
            let seed = args.seed.wrapping_add(i);
            let captcha = generator.render(kind, seed)?;
            let name = format!("type{}_{:03}.png", kind.code(), i);
            std::fs::write(args.out.join(&name), captcha.png())?;
            writeln!(answers, "{name}\t{}", captcha.answer())?;
            if args.audio {
                let clip = generate_audio(kind, seed)?;
                let name = format!("type{}_{:03}.wav", kind.code(), i);
                std::fs::write(args.out.join(&name), clip.wav())?;
                writeln!(audio_answers, "{name}\t{}", clip.answer())?;
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
            eprintln!("usage: samples --out DIR [--type 1..8] [--count N] [--seed S] [--scale 1..3] [--audio]");
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
