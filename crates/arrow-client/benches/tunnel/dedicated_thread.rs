//! A tokio runtime on a thread of its own, whose CPU time can be read: to measure one party
//! (the client, one end of a TLS pipe) alone while the others run elsewhere.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) struct DedicatedThread {
    tid: u32,
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DedicatedThread {
    /// Starts a current-thread runtime on a new thread.
    pub(crate) fn start() -> Self {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let _ = ready_tx.send((current_tid(), rt.handle().clone()));
            rt.block_on(async {
                let _ = stop_rx.await;
            });
        });
        let (tid, handle) = ready_rx.recv().unwrap();
        DedicatedThread {
            tid,
            handle,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Runs `future` on the thread (and every task it spawns).
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// CPU time the thread has used so far (the scheduler's own count, in nanoseconds).
    pub(crate) fn cpu(&self) -> Duration {
        task_cpu(std::path::Path::new(&format!(
            "/proc/self/task/{}",
            self.tid
        )))
    }
}

/// CPU time a thread of this process has used so far, from its `/proc/self/task/<tid>`
/// folder (the scheduler's own count, in nanoseconds; zero once the thread is gone).
pub(crate) fn task_cpu(task: &std::path::Path) -> Duration {
    let text = std::fs::read_to_string(task.join("schedstat")).unwrap_or_default();
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

impl Drop for DedicatedThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// This thread's id, from `/proc/thread-self` (a link to `<pid>/task/<tid>`).
fn current_tid() -> u32 {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse().ok())
        .unwrap_or(0)
}
