//! The native solver's cost per level: what a bot that does not use a
//! browser pays per ticket. Mints real challenges (CaptchaQuery through a
//! service whose policy is fixed at each default level), solves each
//! with `qcaptcha::pow::solve` on one thread and prints the median and
//! mean CPU seconds per solve (this thread's CPU time, from
//! `/proc/thread-self/stat` on Linux; wall time elsewhere) and the
//! derivations made.
//!
//! Then, as a bot that reads 95 % of the pictures right (every 20th answer
//! wrong) would, it plays each level through the service's own verify
//! handler (which checks the proof) until it holds SOLVES_AT_TOP tickets,
//! and prints the CPU seconds its solver spent per ticket.
//!
//! `cargo run --release --example pow_calibrate [-- SOLVES_AT_TOP]` (default 24;
//! lower levels take proportionally more samples).

use std::time::Instant;

use qcaptcha::api::CaptchaQuery;
use qcaptcha::pow::{solve_from, PowPolicy, Puzzle};
use qcaptcha::CaptchaService;

const QUERY: &str = "userIp=198.51.100.9&businessId=1&captchaType=5&script=0&registerTime=0";

/// This thread's CPU seconds (user + system), or `None` off Linux.
fn thread_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let top: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(24);
    let levels = PowPolicy::default().levels;
    let query = CaptchaQuery::from_pairs(form_urlencoded::parse(QUERY.as_bytes()))?;
    println!("level | bits | iterations | solves | median CPU s | mean CPU s | median wall s | mean derivations | µs per derivation");
    for (i, level) in levels.iter().enumerate() {
        let service = CaptchaService::builder("/captcha")
            .pow(PowPolicy::fixed(*level))
            // One client solving thousands: no limits here.
            .limits(qcaptcha::Limits::unlimited())
            .build()?;
        let n = if level.is_none() {
            1000
        } else {
            top << (levels
                .last()
                .map_or(0, |l| l.bits)
                .saturating_sub(level.bits))
            .min(4)
        };
        let (mut cpu, mut wall, mut tries) = (Vec::with_capacity(n), Vec::with_capacity(n), 0u64);
        for _ in 0..n {
            let w = service.widget(&query)?;
            let puzzle: Puzzle = w.puzzle;
            let (c0, t0) = (thread_cpu(), Instant::now());
            let (_, made) = solve_from(&w.challenge, &puzzle, 0, 1)?;
            let secs = match (c0, thread_cpu()) {
                (Some(a), Some(b)) => b - a,
                _ => t0.elapsed().as_secs_f64(),
            };
            cpu.push(secs);
            wall.push(t0.elapsed().as_secs_f64());
            tries += made;
        }
        let total: f64 = cpu.iter().sum();
        let per = if tries > 0 {
            total / tries as f64 * 1e6
        } else {
            0.0
        };
        println!(
            "{i} | {} | {} | {n} | {:.3} | {:.3} | {:.3} | {:.0} | {per:.0}",
            level.bits,
            level.iterations,
            median(&mut cpu),
            total / n as f64,
            median(&mut wall),
            tries as f64 / n as f64,
        );
    }
    println!();
    println!("level | bits | tickets | challenges | solver CPU s per ticket (p = 0.95)");
    for (i, level) in levels.iter().enumerate() {
        let service = CaptchaService::builder("/captcha")
            .pow(PowPolicy::fixed(*level))
            // One client solving thousands: no limits here.
            .limits(qcaptcha::Limits::unlimited())
            .build()?;
        let (mut tickets, mut challenges, mut cpu) = (0usize, 0usize, 0.0f64);
        let mut w = service.widget(&query)?;
        let (mut token, mut puzzle) = (w.challenge.clone(), w.puzzle);
        while tickets < top {
            challenges += 1;
            let (c0, t0) = (thread_cpu(), Instant::now());
            let (counter, _) = solve_from(&token, &puzzle, 0, 1)?;
            cpu += match (c0, thread_cpu()) {
                (Some(a), Some(b)) => b - a,
                _ => t0.elapsed().as_secs_f64(),
            };
            let answer = if challenges % 20 == 0 {
                "WRONGX".to_owned()
            } else {
                service.answer_for_challenge(&token)?.as_str().to_owned()
            };
            let form = format!("c={token}&answer={answer}&pow={counter}");
            let body: serde_json::Value = serde_json::from_slice(
                &service
                    .handle_verify(&form, std::net::IpAddr::from([127, 0, 0, 1]))
                    .body,
            )?;
            if body["code"] == 0 {
                tickets += 1;
                w = service.widget(&query)?;
                (token, puzzle) = (w.challenge.clone(), w.puzzle);
            } else {
                token = body["challenge"]
                    .as_str()
                    .ok_or("no next challenge")?
                    .to_owned();
                puzzle = match body["pow"].as_object() {
                    None => Puzzle::NONE,
                    Some(_) => service_puzzle(&body["pow"])?,
                };
            }
        }
        println!(
            "{i} | {} | {tickets} | {challenges} | {:.3}",
            level.bits,
            cpu / tickets as f64
        );
    }
    Ok(())
}

/// A puzzle from the widget JSON's `pow` value, as a client reads it.
fn service_puzzle(v: &serde_json::Value) -> Result<Puzzle, Box<dyn std::error::Error>> {
    let hex = v["salt"].as_str().ok_or("salt")?;
    let mut salt = [0u8; 16];
    for (i, b) in salt.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2).ok_or("salt")?, 16)?;
    }
    let bits = u8::try_from(v["bits"].as_u64().ok_or("bits")?)?;
    let iterations = u32::try_from(v["iterations"].as_u64().ok_or("iterations")?)?;
    Ok(Puzzle::new(bits, iterations, salt))
}
