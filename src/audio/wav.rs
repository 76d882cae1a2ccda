//! The WAV container, written into the caller's buffer.
//!
//! The 44-byte header is written here by hand rather than with `hound`
//! (which the tests use to parse every clip back): `hound::WavWriter`
//! writes one sample per `write_sample` call through `io::Write`, which
//! measured 12-18 ns a sample here, most of a clip's time (a 4.5 s clip
//! has 50,000 samples), and its buffered `get_i16_writer` allocates a new
//! buffer for every writer, i.e. every clip. This header is the canonical
//! PCM `WAVEFORMAT` one (RIFF, a 16-byte `fmt ` chunk, `data`), the same
//! bytes hound writes for mono 16-bit; the samples are then written in one
//! pass over the grown buffer.

use super::SAMPLE_RATE;
use crate::render::Error;

/// Bytes before the samples.
pub(crate) const HEADER_LEN: usize = 44;

/// Writes `samples` as a mono 16-bit PCM WAV file into `out` (cleared first).
pub(crate) fn write(samples: &[i16], out: &mut Vec<u8>) -> Result<(), Error> {
    let data_len = samples
        .len()
        .checked_mul(2)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n <= u32::MAX - HEADER_LEN as u32)
        .ok_or_else(|| Error::Wav(format!("{} samples do not fit a WAV file", samples.len())))?;
    out.clear();
    out.reserve(HEADER_LEN + data_len as usize);
    let channels = 1u16;
    let bits = 16u16;
    let block_align = channels * bits / 8;
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(data_len + HEADER_LEN as u32 - 8).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(SAMPLE_RATE * u32::from(block_align)).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    debug_assert_eq!(out.len(), HEADER_LEN);
    out.resize(HEADER_LEN + data_len as usize, 0);
    for (bytes, sample) in out[HEADER_LEN..].chunks_exact_mut(2).zip(samples) {
        let [lo, hi] = sample.to_le_bytes();
        bytes[0] = lo;
        bytes[1] = hi;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_the_one_hound_writes() {
        let samples = [0i16, 1, -1, i16::MAX, i16::MIN, 1234];
        let mut ours = Vec::new();
        write(&samples, &mut ours).unwrap();
        let mut theirs = std::io::Cursor::new(Vec::new());
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::new(&mut theirs, spec).unwrap();
        for s in samples {
            writer.write_sample(s).unwrap();
        }
        writer.finalize().unwrap();
        assert_eq!(ours, theirs.into_inner());
    }
}
