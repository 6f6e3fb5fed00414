//! Resource usage that moves with simulated time, deterministically: smooth waves per host
//! (phase from the host index) so CPU, memory and storage graphs look alive in a demo and
//! tests can still predict ranges.

use std::f64::consts::TAU;

/// CPU usage fraction (0.10..0.80) of a host at a simulated time.
pub fn cpu(t: f64, index: usize) -> f64 {
    let i = index as f64;
    let v =
        0.42 + 0.22 * (TAU * t / 3600.0 + i * 0.7).sin() + 0.08 * (TAU * t / 420.0 + i * 1.3).sin();
    v.clamp(0.10, 0.80)
}

/// Memory usage fraction (0.30..0.85) of a host at a simulated time.
pub fn memory(t: f64, index: usize) -> f64 {
    let i = index as f64;
    let v = 0.58 + 0.14 * (TAU * t / 5400.0 + i * 0.9).sin() + 0.03 * (TAU * t / 600.0 + i).sin();
    v.clamp(0.30, 0.85)
}

/// Storage usage fraction (0.20..0.75) of a host at a simulated time: slow drift.
pub fn storage(t: f64, index: usize) -> f64 {
    let i = index as f64;
    let v = 0.40 + 0.06 * (TAU * t / 86_400.0 + i * 0.5).sin() + 0.02 * (i * 2.1).sin();
    v.clamp(0.20, 0.75)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn usage_moves_and_stays_in_range() {
        assert_ne!(cpu(0.0, 1), cpu(600.0, 1));
        assert_eq!(cpu(123.0, 4), cpu(123.0, 4));
        for t in 0..500 {
            let t = f64::from(t) * 97.0;
            for i in 0..5 {
                assert!((0.1..=0.8).contains(&cpu(t, i)));
                assert!((0.3..=0.85).contains(&memory(t, i)));
                assert!((0.2..=0.75).contains(&storage(t, i)));
            }
        }
    }
}
