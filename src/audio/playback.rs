//! Playing a recording into a clip: at a speed (which moves its pitch and
//! formants together: resampling), and for interference clips with that
//! speed wavering slowly ("wow") and through a small random equaliser.
//!
//! The wow and the equaliser are what keep a matched filter built from the
//! crate's own recordings from finding the letters: a filter searched over
//! steady rates stays in step with a wavering letter for a few
//! milliseconds only (two sines, one slow and one of several cycles a
//! letter, so that no single steady rate fits a letter), and the equaliser
//! changes every letter's waveform and spectral slope. Both are mild for a
//! listener: the pitch moves by a few percent, like a vibrato, and the
//! equaliser tilts the sound by a few decibels.

use std::f32::consts::TAU;

use super::SAMPLE_RATE;

/// Samples between two updates of the playback rate.
pub(crate) const BLOCK: usize = 32;

/// A sample of a recording and the step to the next: what the
/// interpolation between them reads, in one load.
pub(crate) type Pair = [f32; 2];

/// `x` as [`Pair`]s (the last one's step is 0, never read).
pub(crate) fn pairs(x: &[f32]) -> Vec<Pair> {
    let next = x.iter().skip(1).chain([x.last().unwrap_or(&0.0)]);
    x.iter().zip(next).map(|(&a, &b)| [a, b - a]).collect()
}

/// The number of samples `source` lasts when played at `rate` (1 = as
/// recorded, 2 = twice as fast and an octave higher).
pub(crate) fn resampled_len(source: usize, rate: f32) -> usize {
    if source < 2 {
        return 0;
    }
    ((source - 1) as f32 / rate) as usize
}

/// Plays `source` at `rate` (linear interpolation), scaled by `gain`, added
/// onto `out`, for `out.len()` samples at most [`resampled_len`]. The clear
/// clips' letters are played by this alone.
pub(crate) fn resample_add_into(source: &[f32], rate: f32, gain: f32, out: &mut [f32]) {
    let n = out.len().min(resampled_len(source.len(), rate));
    // The position in 16.16 fixed point: integer steps, no float-to-index
    // conversion per sample. resampled_len keeps the position within
    // len - 1, so i + 1 is in bounds; the min only guards against rounding.
    let step = (rate * 65536.0) as u32;
    let last = source.len().saturating_sub(2);
    let mut pos = 0u32;
    for dst in &mut out[..n] {
        let i = ((pos >> 16) as usize).min(last);
        let frac = (pos & 0xffff) as f32 * (1.0 / 65536.0);
        let (a, b) = (source[i], source[i + 1]);
        *dst += gain * (a + frac * (b - a));
        pos = pos.wrapping_add(step);
    }
}

/// How an interference clip plays one recording.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Playback {
    /// Mean rate (1 = as recorded).
    pub(crate) rate: f32,
    /// The wow: two slow sines the rate wavers by, each a depth (a fraction
    /// of the rate), a phasor (cosine, sine) and its turn per [`BLOCK`].
    waves: [Wave; 2],
    /// Equaliser: `y[n] = e0 x[n] + e1 x[n-1] + e2 x[n-2]`.
    pub(crate) eq: [f32; 3],
}

/// One sine of the wow.
#[derive(Clone, Copy, Debug)]
struct Wave {
    depth: f32,
    phasor: (f32, f32),
    turn: (f32, f32),
}

impl Wave {
    fn new((depth, hz, phase): (f32, f32, f32)) -> Wave {
        let turn = TAU * hz * BLOCK as f32 / SAMPLE_RATE as f32;
        Wave {
            depth,
            phasor: (phase.cos(), phase.sin()),
            turn: (turn.cos(), turn.sin()),
        }
    }

    /// The wave's value now, and turns it on by a block: by a rotation,
    /// not a sine per block, which would cost more than the interpolation.
    fn next(&mut self) -> f32 {
        let ((c, s), (tc, ts)) = (self.phasor, self.turn);
        self.phasor = (c * tc - s * ts, s * tc + c * ts);
        self.depth * s
    }
}

impl Playback {
    /// A playback at `rate`, wavering by two sines, each `(depth, hz,
    /// phase)` (a fraction of the rate, per second, radians), through the
    /// equaliser `eq`.
    pub(crate) fn new(rate: f32, waves: [(f32, f32, f32); 2], eq: [f32; 3]) -> Playback {
        Playback {
            rate,
            waves: waves.map(Wave::new),
            eq,
        }
    }

    /// The 16.16 fixed-point steps, block by block.
    fn steps(&self) -> impl Iterator<Item = u64> {
        let (rate, mut waves) = (self.rate, self.waves);
        std::iter::repeat_with(move || {
            let wow = waves[0].next() + waves[1].next();
            ((rate * (1.0 + wow) * 65536.0) as u64).max(1)
        })
    }
}

/// The number of samples `source` lasts when played by `play`.
pub(crate) fn played_len(source: usize, play: &Playback) -> usize {
    played_len_upto(source, play, usize::MAX)
}

/// [`played_len`], or `max` if that is less (counted no further: a
/// stretch of the babble bed is a few blocks out of thousands).
fn played_len_upto(source: usize, play: &Playback, max: usize) -> usize {
    if source < 2 {
        return 0;
    }
    let end = ((source - 1) as u64) << 16;
    // A babble stretch is cut from a bed long enough for it at the fastest
    // rate the wow reaches (with a margin for the phasors' rounding): then
    // the answer is `max` without stepping through it.
    let fastest = (play.rate * (1.0 + 1.01 * (play.waves[0].depth + play.waves[1].depth)) * 65536.0)
        as u64
        + 2;
    if max < usize::MAX && end > fastest * max.next_multiple_of(BLOCK) as u64 {
        return max;
    }
    let (mut pos, mut n) = (0u64, 0usize);
    for step in play.steps() {
        // A division only for the last block: `left <= BLOCK` is
        // `end - pos <= BLOCK * step`.
        if end - pos <= step * BLOCK as u64 || n >= max {
            let left = (end - pos).div_ceil(step) as usize;
            return (n + left.min(BLOCK)).min(max);
        }
        pos += step * BLOCK as u64;
        n += BLOCK;
    }
    unreachable!("steps never ends")
}

/// Plays `source` from sample `from` by `play`, scaled by `gain`, added
/// onto `out`: `out.len()` samples, or fewer if the source ends first (the
/// count is returned). The first and last `fade` samples ramp linearly, so
/// that a stretch cut out of running speech starts and stops without a
/// click.
pub(crate) fn play_add_into(
    source: &[Pair],
    from: usize,
    play: &Playback,
    gain: f32,
    fade: usize,
    out: &mut [f32],
) -> usize {
    let source = source.get(from..).unwrap_or_default();
    if source.len() < 2 {
        return 0;
    }
    // The length is needed ahead only for a fade-out; without one, the
    // last block is found as the source runs out.
    let n = match fade {
        0 => out.len(),
        _ => played_len_upto(source.len(), play, out.len()),
    };
    let fade = fade.min(n / 2);
    let ramp = |at: usize| match fade {
        0 => gain,
        _ => gain * (at.min(n - at) as f32 / fade as f32).min(1.0),
    };
    let end = ((source.len() - 1) as u64) << 16;
    let mut state = Filter {
        eq: play.eq,
        x1: 0.0,
        x2: 0.0,
        pos: 0,
    };
    let mut done = 0;
    for step in play.steps() {
        // The blocks played_len_upto counts: whole ones while the source
        // lasts more than a block, then what is left of it.
        let left = end - state.pos;
        let last = left <= step * BLOCK as u64;
        let len = match last {
            true => (left.div_ceil(step) as usize).min(BLOCK),
            false => BLOCK,
        }
        .min(n - done);
        let block = &mut out[done..done + len];
        if fade == 0 || (done >= fade && done + len + fade <= n) {
            state.play(source, step, block, |_| gain);
        } else {
            let (g0, g1) = (ramp(done), ramp(done + len));
            if g0 == g1 {
                state.play(source, step, block, |_| g0);
            } else {
                // A fade: the level moves linearly over the block (computed
                // per sample, not summed, which would chain the additions).
                let dg = (g1 - g0) / len as f32;
                state.play(source, step, block, |j| g0 + dg * j as f32);
            }
        }
        done += len;
        if last || done == n {
            return done;
        }
    }
    unreachable!("steps never ends")
}

/// The interpolation position and the equaliser's memory, carried from
/// block to block.
struct Filter {
    eq: [f32; 3],
    x1: f32,
    x2: f32,
    pos: u64,
}

impl Filter {
    /// Plays one block at a fixed `step`, the level of its `j`-th sample
    /// given by `level(j)`. In two passes: the interpolation (a gather, one
    /// sample at a time), then the equaliser and the sum, which the
    /// compiler vectorises; each sample's arithmetic is the same as in one.
    #[inline(always)]
    fn play(
        &mut self,
        source: &[Pair],
        step: u64,
        block: &mut [f32],
        level: impl Fn(usize) -> f32,
    ) {
        let [e0, e1, e2] = self.eq;
        // xs[0], xs[1]: the two samples before the block.
        let mut xs = [0.0f32; BLOCK + 2];
        (xs[0], xs[1]) = (self.x2, self.x1);
        let mut pos = self.pos;
        for x in &mut xs[2..2 + block.len()] {
            let i = (pos >> 16) as usize;
            let frac = (pos & 0xffff) as f32 * (1.0 / 65536.0);
            // The step to the next sample was taken when the tables were
            // built, with the same rounding as `b - a` here.
            let [a, to_next] = source[i];
            *x = a + frac * to_next;
            pos += step;
        }
        for (j, dst) in block.iter_mut().enumerate() {
            *dst += level(j) * (e0 * xs[j + 2] + e1 * xs[j + 1] + e2 * xs[j]);
        }
        let n = block.len();
        (self.x2, self.x1, self.pos) = (xs[n], xs[n + 1], pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_changes_length_by_the_rate() {
        let src: Vec<f32> = (0..1001).map(|i| i as f32).collect();
        let mut out = vec![0.0; resampled_len(src.len(), 2.0)];
        resample_add_into(&src, 2.0, 1.0, &mut out);
        assert_eq!(out.len(), 500);
        assert_eq!(out[10], 20.0);
        let mut slow = vec![0.0; 2000];
        resample_add_into(&src, 0.5, 1.0, &mut slow);
        assert_eq!(slow[3], 1.5);
    }

    #[test]
    fn a_steady_playback_is_plain_resampling() {
        let src: Vec<f32> = (0..3001).map(|i| (i as f32 * 0.05).sin()).collect();
        let play = Playback::new(1.1, [(0.0, 4.0, 0.3); 2], [1.0, 0.0, 0.0]);
        let n = played_len(src.len(), &play);
        assert_eq!(n, resampled_len(src.len(), 1.1) + 1);
        let (mut ours, mut plain) = (vec![0.0; n], vec![0.0; n]);
        assert_eq!(play_add_into(&pairs(&src), 0, &play, 0.5, 0, &mut ours), n);
        resample_add_into(&src, 1.1, 0.5, &mut plain);
        for (a, b) in ours.iter().zip(&plain).take(n - 1) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }

    #[test]
    fn wow_moves_the_rate_and_keeps_the_length_near_the_mean() {
        let src = vec![0.5f32; 11_025];
        let steady = resampled_len(src.len(), 1.0);
        for phase in [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] {
            let play = Playback::new(1.0, [(0.06, 4.0, phase), (0.0, 9.0, 0.0)], [1.0, 0.0, 0.0]);
            let n = played_len(src.len(), &play);
            // Over four whole cycles the wow averages out to within one
            // cycle's drift: 0.06 / (2 pi 4 Hz) of a second.
            let drift = (0.06 / (TAU * 4.0) * SAMPLE_RATE as f32) as usize + BLOCK;
            assert!(n.abs_diff(steady) <= drift, "{n} vs {steady}");
            let mut out = vec![0.0; n + 10];
            assert_eq!(play_add_into(&pairs(&src), 0, &play, 1.0, 0, &mut out), n);
            assert!(out[..n].iter().all(|&x| (x - 0.5).abs() < 1e-6));
        }
    }

    #[test]
    fn fades_ramp_the_ends_and_the_source_end_stops_early() {
        let src = vec![1.0f32; 2000];
        let play = Playback::new(1.0, [(0.03, 3.0, 0.0), (0.02, 9.0, 1.0)], [1.0, 0.0, 0.0]);
        let mut out = vec![0.0; 500];
        assert_eq!(
            play_add_into(&pairs(&src), 100, &play, 1.0, 64, &mut out),
            500
        );
        assert!(out[0] < 0.05 && out[499] < 0.05);
        assert!((out[250] - 1.0).abs() < 1e-6);
        assert!(out[32] > 0.4 && out[32] < 0.6);
        let mut long = vec![0.0; 5000];
        let n = play_add_into(&pairs(&src), 1500, &play, 1.0, 0, &mut long);
        assert!((450..550).contains(&n), "{n}");
        assert!(long[n..].iter().all(|&x| x == 0.0));
    }
}
