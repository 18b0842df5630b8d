//! The temporary file behind an output that is renamed into place, with its writeback started
//! as it is written.
//!
//! # Why
//! Renamed over an existing file, a freshly written one is written back at once, inside
//! `rename`, by ext4 (`auto_da_alloc`, on by default, so that a replace-by-rename does not
//! leave an empty file after a crash). On the project's machines, at 10⁶ tasks (a 4–6 MB
//! output), that took 4–7 ms, a tenth of a majority vote's whole run. Asked to start the
//! writeback of each stretch once it is written (Linux `sync_file_range(…, WRITE)`, which
//! starts it and does not wait for it), the kernel has the blocks allocated and the writes
//! under way by the time of the rename: 5.3–5.7 ms for writes and rename together instead of
//! 8.3 ms, and the writes overlap the formatting of the next rows (BENCHMARKS.md, session 14).
//! Nothing is made durable that was not before: no `fsync`, no wait for the disk.
//!
//! Only a file that replaces another is written back early: a new one is not written back
//! inside `rename`, and starting its writeback in the process only added to its time (+1.7 ms
//! at 5 MB, +20 ms at 250 MB) what the kernel otherwise does after it has ended.

use std::fs::File;
use std::io::{self, Write};

/// Bytes written between two requests: in steps of 256–512 KiB the rename took ≈ 2 ms; in
/// steps of 1–2 MiB, 4–5 ms (the last stretches were still being written back).
const STEP: u64 = 512 << 10;

/// A file whose written bytes are handed to the kernel's writeback every [`STEP`] bytes (when
/// `early`).
pub(crate) struct EarlyWriteback {
    file: File,
    /// Whether to: a file renamed over an existing one (not a new file, nor a device or a
    /// FIFO written directly).
    early: bool,
    /// Bytes written so far.
    written: u64,
    /// Bytes already handed to the writeback.
    started: u64,
}

impl EarlyWriteback {
    pub(crate) fn new(file: File, early: bool) -> Self {
        Self {
            file,
            early,
            written: 0,
            started: 0,
        }
    }
}

impl Write for EarlyWriteback {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.early && self.written - self.started >= STEP {
            start_writeback(&self.file, self.started, self.written - self.started);
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Starts writing back bytes `offset..offset + len` of `file`, without waiting. A hint: an
/// error (a file system without it) leaves the writeback to the kernel's own time, as
/// before.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain system call on an open descriptor this value owns; it reads and writes
    // no memory of the process.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte arrives, in order, across many steps and writes of every size.
    #[test]
    fn the_file_holds_every_byte_written() {
        let dir = std::env::temp_dir().join(format!("crowdagg-writeback-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.bin");
        let bytes: Vec<u8> = (0..3 * STEP as usize + 12_345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut out = EarlyWriteback::new(File::create(&path).unwrap(), true);
        let mut at = 0;
        for size in (1..).map(|k| (k * 9_973) % 700_000 + 1) {
            let end = (at + size).min(bytes.len());
            out.write_all(&bytes[at..end]).unwrap();
            at = end;
            if at == bytes.len() {
                break;
            }
        }
        out.flush().unwrap();
        assert_eq!(out.written, bytes.len() as u64);
        // Handed over in steps: all but less than a step's worth at the end.
        assert!(out.started > 0 && out.written - out.started < STEP);
        drop(out);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
