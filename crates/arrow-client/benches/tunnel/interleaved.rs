//! The throughput groups again, interleaved: each round moves one iteration through every
//! path in turn (the order rotating), so whatever the machine does meanwhile (frequency,
//! other load, where the scheduler puts the workers) falls on the tunnel and its floors
//! alike. Criterion measures each path for seconds, one after the other, and on a shared
//! 2-core machine two fresh runs moved a floor by a third; the ratio of one round's tunnel
//! to the same round's floor does not drift that way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use super::{CHUNK, ONE_SESSION, PER_SESSION_CHUNKS, Setup, dial_paths, pull, push, push_each};

/// Rounds per group.
const ROUNDS: usize = 40;

/// One group: its name, the floor it is held to, and each path's rate per round.
struct Group {
    name: &'static str,
    floor: &'static str,
    /// Per path (in `dial_paths` order): the seconds of each round.
    seconds: Vec<(&'static str, Vec<f64>)>,
    /// Per path: the process's CPU time over the wall time of all its rounds.
    cores: Vec<f64>,
    bytes: usize,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

impl Group {
    fn row(&self) -> String {
        let index = |name: &str| self.seconds.iter().position(|(n, _)| *n == name).unwrap();
        let per = |name: &str| &self.seconds[index(name)].1;
        let (tunnel, floor) = (per("tunnel"), per(self.floor));
        let mut ratios: Vec<f64> = tunnel.iter().zip(floor).map(|(t, f)| f / t).collect();
        let ratio = median(&mut ratios);
        let rate = |name: &str| {
            let mut s = per(name).clone();
            self.bytes as f64 / median(&mut s) / 1e9
        };
        format!(
            "| {} | {:.2} GB/s | {:.2} GB/s | {:.2} GB/s | {:.2} GB/s | **{:.0}%** of {} ({:.0}% to {:.0}%) | {:.2} / {:.2} |\n",
            self.name,
            rate("tunnel"),
            rate("window-floor"),
            rate("relay-floor"),
            rate("baseline-direct-tls"),
            100.0 * ratio,
            self.floor,
            100.0 * ratios[ROUNDS / 10],
            100.0 * ratios[ROUNDS - 1 - ROUNDS / 10],
            self.cores[index("tunnel")],
            self.cores[index(self.floor)],
        )
    }
}

/// CPU time of every thread of this process so far (the scheduler's count).
fn process_cpu() -> Duration {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .map(|task| super::dedicated_thread::task_cpu(&task.path()))
        .sum()
}

/// Runs every path once a round, the order rotating, and times each run; returns each
/// path's seconds per round and the cores the process kept busy over its rounds.
fn interleave<T>(
    paths: &mut [(&'static str, T)],
    mut run: impl FnMut(&mut T),
) -> (Vec<(&'static str, Vec<f64>)>, Vec<f64>) {
    let mut seconds: Vec<(&str, Vec<f64>)> = paths.iter().map(|(n, _)| (*n, Vec::new())).collect();
    let mut cpu = vec![Duration::ZERO; paths.len()];
    for round in 0..ROUNDS {
        for k in 0..paths.len() {
            let i = (round + k) % paths.len();
            // Reading /proc stays outside the timed run.
            let cpu_start = process_cpu();
            let start = Instant::now();
            run(&mut paths[i].1);
            seconds[i].1.push(start.elapsed().as_secs_f64());
            cpu[i] += process_cpu().saturating_sub(cpu_start);
        }
    }
    let cores = cpu
        .iter()
        .zip(&seconds)
        .map(|(cpu, (_, s))| cpu.as_secs_f64() / s.iter().sum::<f64>())
        .collect();
    (seconds, cores)
}

pub(crate) fn note(rt: &Runtime, s: &Setup) -> String {
    let block = Arc::new(vec![0x5au8; CHUNK]);
    let mut buf = vec![0u8; CHUNK];
    let mut groups = Vec::new();

    let mut paths = rt.block_on(dial_paths(s, false, 1));
    let (seconds, cores) = interleave(&mut paths, |streams| {
        rt.block_on(push(&mut streams[0], &block, ONE_SESSION))
    });
    groups.push(Group {
        name: "down, 1 session",
        floor: "window-floor",
        seconds,
        cores,
        bytes: ONE_SESSION,
    });

    let chunks = (ONE_SESSION / CHUNK) as u8;
    let mut paths = rt.block_on(dial_paths(s, true, 1));
    let (seconds, cores) = interleave(&mut paths, |streams| {
        rt.block_on(pull(&mut streams[0], &mut buf, chunks))
    });
    groups.push(Group {
        name: "up, 1 session",
        floor: "window-floor",
        seconds,
        cores,
        bytes: ONE_SESSION,
    });

    // Each path's streams, lent to `push_each` for a round and handed back.
    type Lent = Option<Vec<Box<dyn super::Stream>>>;
    let mut paths: Vec<(&str, Lent)> = rt
        .block_on(dial_paths(s, false, 100))
        .into_iter()
        .map(|(n, v)| (n, Some(v)))
        .collect();
    let (seconds, cores) = interleave(&mut paths, |streams| {
        *streams = streams.take().map(|v| rt.block_on(push_each(v, &block)));
    });
    groups.push(Group {
        name: "down, 100 sessions",
        floor: "relay-floor",
        seconds,
        cores,
        bytes: 100 * PER_SESSION_CHUNKS * CHUNK,
    });

    let mut note = format!(
        "### Arrow tunnel beside its floors, interleaved\n\n\
         The throughput groups again, {ROUNDS} rounds each; a round moves one iteration \
         through every path in turn (the order rotating), so the machine's drift falls on \
         all of them alike. Rates are medians over the rounds; the tunnel's share of its \
         floor is the median of each round's ratio, with the 10th to 90th percentile \
         (aims: one session at least 85% of the window floor, 100 sessions at least 85% \
         of the relay floor). Cores busy: the whole process's CPU time over the wall time of \
         the path's rounds, tunnel / floor (two runtime workers and the bench thread; a path \
         that tokio runs on one worker stays near 1, see docs/arrow-efficiency.md).\n\n\
         | group | tunnel | window floor | relay floor | direct TLS | tunnel / floor | cores busy |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    for group in &groups {
        note.push_str(&group.row());
    }
    note
}
