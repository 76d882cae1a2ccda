//! The command line: what `samples` is asked to write, and its help.

use std::path::PathBuf;

use qcaptcha::CaptchaType;

/// The full help, printed to stdout by `--help` / `-h`.
pub const HELP: &str = "\
samples: writes sample captchas as PNG files, with their answers.

USAGE:
    samples --out DIR [--type T] [--count N] [--seed S] [--scale S] [--audio]

OPTIONS:
    --out DIR     the folder to write into (made if missing); required
    --type T      only captcha type T, 1 to 8 (default: every type 1..8)
                    1, 2, 3: 4, 5, 6 clear letters; 4: 4 to 6 clear letters
                    5, 6, 7: 4, 5, 6 letters with interference; 8: 4 to 6
    --count N     captchas per type, at least 1 (default: 10)
    --seed S      the first seed, 0 to 18446744073709551615; the captcha i
                  of a type uses S + i, so a run can be repeated exactly
                  (default: a random seed from the OS, printed)
    --scale S     1, 2 or 3 (default 1): pictures S times the default size,
                  as the service's image route serves them for s=S (the
                  same answers, more pixels)
    --audio       also write each captcha's spoken version: a WAV clip of
                  the same type and seed, whose letters are the picture's
                  answer (typeT_NNN.wav beside typeT_NNN.png), with the
                  answers in audio.tsv
    -h, --help    print this help

OUTPUT:
    DIR/typeT_NNN.png   one picture per captcha (130x53 times the scale, 2-bit PNG)
    DIR/answers.tsv     one line per picture: <file> TAB <answer>

EXAMPLE:
    cargo run --release -p qcaptcha-samples -- --out samples --type 5 --count 3 --seed 2026
";

/// What to write.
#[derive(Debug, PartialEq, Eq)]
pub struct Args {
    /// The folder to write into.
    pub out: PathBuf,
    /// The types to write, in order.
    pub kinds: Vec<CaptchaType>,
    /// Captchas per type (at least one).
    pub count: u64,
    /// The first seed, if given; else the caller draws one.
    pub seed: Option<u64>,
    /// Pictures this many times the default size (1 to 3).
    pub scale: u32,
    /// Also write the spoken clips.
    pub audio: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Print [`HELP`].
    Help,
    /// Write samples.
    Write(Args),
}

/// Reads the arguments (without the program name); the error says what is
/// wrong, for a one-line message.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut out = None;
    let mut kinds = CaptchaType::ALL.to_vec();
    let mut count = 10;
    let mut seed = None;
    let mut scale = 1;
    let mut audio = false;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--type" => kinds = vec![captcha_type(&value()?)?],
            "--count" => count = number("--count", &value()?)?,
            "--seed" => seed = Some(number("--seed", &value()?)?),
            "--scale" => scale = number("--scale", &value()?)?,
            "--audio" => audio = true,
            "-h" | "--help" => return Ok(Command::Help),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if count == 0 {
        return Err("--count must be at least 1".into());
    }
    if !(1..=3).contains(&scale) {
        return Err(format!("--scale {scale}: 1, 2 or 3"));
    }
    Ok(Command::Write(Args {
        out: out.ok_or("--out DIR is required")?,
        kinds,
        count,
        seed,
        scale: scale as u32,
        audio,
    }))
}

fn number(flag: &str, value: &str) -> Result<u64, String> {
    value.parse().map_err(|e| format!("{flag} {value:?}: {e}"))
}

fn captcha_type(value: &str) -> Result<CaptchaType, String> {
    let code: i64 = value
        .parse()
        .map_err(|e| format!("--type {value:?}: {e}"))?;
    CaptchaType::try_from(code).map_err(|e| format!("--type {value}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Command, String> {
        parse(line.split_whitespace().map(String::from))
    }

    #[test]
    fn defaults_are_every_type_ten_each_and_no_seed() {
        let Ok(Command::Write(args)) = parse_str("--out d") else {
            panic!("--out alone is a valid command");
        };
        assert_eq!(args.kinds, CaptchaType::ALL.to_vec());
        assert_eq!((args.count, args.seed, args.audio), (10, None, false));
        assert_eq!(args.scale, 1);
    }

    #[test]
    fn help_wins_and_bad_values_are_errors() {
        assert_eq!(parse_str("-h"), Ok(Command::Help));
        assert_eq!(parse_str("--out d --help"), Ok(Command::Help));
        for bad in [
            "--out d --count 0",
            "--out d --scale 0",
            "--out d --scale 4",
            "--out d --count -1",
            "--out d --type 9",
            "--out d --type five",
            "--out d --seed",
            "--count 3",
            "--out d --colour red",
        ] {
            assert!(parse_str(bad).is_err(), "{bad} was accepted");
        }
    }
}
