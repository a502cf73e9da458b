//! CPU time and resident memory of a target process tree, read from /proc.
//!
//! CPU: `utime + stime` (fields 14 and 15 of `/proc/<pid>/stat`, in clock ticks of
//! 1/100 s on Linux x86_64) summed over the process and its live descendants, so a
//! gateway that forks workers (LiteLLM under uvicorn, nginx) is charged for all of them.

use std::fs;

/// Linux's USER_HZ on every architecture we run on (x86_64, aarch64).
const TICKS_PER_SEC: u64 = 100;

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    let close = text.rfind(')')?;
    Some(
        text[close + 1..]
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    )
}

/// The pid itself plus every live descendant.
pub fn tree(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            // After the ')' field 0 is the state, field 1 the ppid.
            if let Some(f) = stat_fields(pid) {
                if let Some(ppid) = f.get(1).and_then(|s| s.parse::<u32>().ok()) {
                    parent_of.push((pid, ppid));
                }
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        for &(child, ppid) in &parent_of {
            if ppid == p && !out.contains(&child) {
                out.push(child);
            }
        }
        i += 1;
    }
    out
}

/// CPU seconds (user + system) used so far by `pids`.
pub fn cpu_seconds(pids: &[u32]) -> f64 {
    let mut ticks = 0u64;
    for &pid in pids {
        if let Some(f) = stat_fields(pid) {
            // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the ')'.
            let ut = f.get(11).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            let st = f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            ticks += ut + st;
        }
    }
    ticks as f64 / TICKS_PER_SEC as f64
}

/// Resident set size in KiB (VmRSS) summed over `pids`.
pub fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_rss_and_cpu() {
        let me = std::process::id();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(
            rss_kib(&[me]) > 100,
            "a running test binary has >100 KiB resident"
        );
        assert!(tree(me).contains(&me));
        assert!(cpu_seconds(&[me]) >= 0.0);
    }

    #[test]
    fn missing_pid_counts_as_zero() {
        assert_eq!(rss_kib(&[u32::MAX]), 0);
        assert_eq!(cpu_seconds(&[u32::MAX]), 0.0);
    }
}
