//! Moving a replication connection's socket to the executor that serves it (a flow to its shard's
//! executor, a redis-server replica to the executor of the Redis-format feed).

use crate::context::ExecutorCtx;
use crate::shard::Shard;
use glommio::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;

/// Hands the socket of `stream` to executor `target`: `start` runs there (inside a shard job, so
/// it must only spawn) with a duplicate of the socket's descriptor; the old one closes with
/// `stream`. A descriptor that finds no executor to take it is closed.
pub async fn move_socket(
    ctx: &Rc<ExecutorCtx>,
    stream: TcpStream,
    target: usize,
    start: impl FnOnce(Rc<ExecutorCtx>, OwnedFd) + Send + 'static,
) {
    // SAFETY: dup returns a new descriptor for the same socket, or -1.
    let fd = unsafe { libc::dup(stream.as_raw_fd()) };
    drop(stream);
    if fd < 0 {
        tracing::warn!("could not hand a replication connection over: dup failed");
        return;
    }
    // SAFETY: fd is a fresh descriptor from dup that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let take_over = move |_: &mut Shard| {
        if let Some(ctx) = crate::context::current() {
            start(ctx, fd);
        }
    };
    ctx.run_on(target, take_over).await;
}

/// The stream of a socket handed over by `move_socket`.
pub fn stream_of(fd: OwnedFd) -> TcpStream {
    use std::os::fd::IntoRawFd;
    // SAFETY: the descriptor is a connected TCP socket this stream now owns alone.
    unsafe { TcpStream::from_raw_fd(fd.into_raw_fd()) }
}
