//! CPU time of this process, for `--timings` and the benchmark examples: on a shared machine it
//! is the steadier figure next to wall time.

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`, 10 ms ticks;
/// 0 where that file does not exist).
pub fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // After the ")" that closes the command name, utime and stime are fields 12 and 13.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_time_grows_with_work() {
        let before = super::process_cpu_seconds();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed().as_millis() < 120 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let after = super::process_cpu_seconds();
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(after > before, "{before} → {after}");
        }
    }
}
