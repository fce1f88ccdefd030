//! Pausing a redis-server primary's stream while SAVE copies the data, so that the snapshot's
//! `repl-id`/`repl-offset`/`repl-stream-db` match its data exactly, with one copy.
//!
//! SAVE (any executor) asks for a pause and waits until the link task (executor 0) has applied
//! everything it handed on and stopped handing on more; the link then publishes where it
//! stands. The link keeps reading the socket into a bounded buffer meanwhile, and resumes when
//! the last pause is released. Nothing here can hang SAVE: with no link applying a stream (none,
//! reconnecting, full sync), a link that goes away, or one that does not settle in time, SAVE
//! gets no position and saves without one, as it does when there is none.

use super::ReplAux;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
pub struct ApplyPause {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The link applying a redis-server primary's stream now, if any (ids are never reused, so a
    /// pauser can tell the link it paused from a later one).
    link: Option<u64>,
    next_link: u64,
    /// Wakes the link task when a pause is asked or the last one released.
    link_waker: Option<Waker>,
    /// Pauses asked and not released yet.
    holders: usize,
    /// Where the link stopped, once it settled with pauses held.
    paused_at: Option<ReplAux>,
    /// Pausers waiting for the link to settle.
    pausers: Vec<Waker>,
}

impl ApplyPause {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The link task starts applying a stream; the registration ends when it is dropped.
    pub fn register(&self) -> LinkRegistration<'_> {
        let mut inner = self.lock();
        inner.next_link += 1;
        let id = inner.next_link;
        inner.link = Some(id);
        inner.paused_at = None;
        LinkRegistration { pause: self, id }
    }

    /// Asks the link to stop applying. The guard waits for it with `settle` and releases the
    /// pause when dropped, on every path.
    pub fn pause(&self) -> PauseGuard<'_> {
        let mut inner = self.lock();
        let Some(link) = inner.link else {
            return PauseGuard {
                pause: self,
                link: None,
            };
        };
        inner.holders += 1;
        if let Some(waker) = inner.link_waker.take() {
            waker.wake();
        }
        PauseGuard {
            pause: self,
            link: Some(link),
        }
    }
}

/// A pause held by SAVE.
pub struct PauseGuard<'a> {
    pause: &'a ApplyPause,
    /// The link asked to pause (None: there was none, so nothing is held).
    link: Option<u64>,
}

impl PauseGuard<'_> {
    /// Resolves once the link has settled, or is gone.
    pub fn settled(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            let Some(link) = self.link else {
                return Poll::Ready(());
            };
            let mut inner = self.pause.lock();
            if inner.link != Some(link) || inner.paused_at.is_some() {
                return Poll::Ready(());
            }
            if !inner.pausers.iter().any(|w| w.will_wake(cx.waker())) {
                inner.pausers.push(cx.waker().clone());
            }
            Poll::Pending
        })
    }

    /// Where the data stands in the primary's stream, while the link that settled for this pause
    /// is still the one registered (so it applied nothing since). None otherwise.
    pub fn position(&self) -> Option<ReplAux> {
        let inner = self.pause.lock();
        match self.link {
            Some(link) if inner.link == Some(link) => inner.paused_at.clone(),
            _ => None,
        }
    }
}

impl Drop for PauseGuard<'_> {
    fn drop(&mut self) {
        if self.link.is_none() {
            return;
        }
        let mut inner = self.pause.lock();
        inner.holders = inner.holders.saturating_sub(1);
        if inner.holders == 0 {
            inner.paused_at = None;
            if let Some(waker) = inner.link_waker.take() {
                waker.wake();
            }
        }
    }
}

/// The link task's side, while it applies a stream.
pub struct LinkRegistration<'a> {
    pause: &'a ApplyPause,
    id: u64,
}

impl LinkRegistration<'_> {
    /// Whether some pause is held: hand nothing more to the applier.
    pub fn wanted(&self) -> bool {
        self.pause.lock().holders > 0
    }

    /// Whether the link already published where it stopped for the pauses held now.
    pub fn is_settled(&self) -> bool {
        self.pause.lock().paused_at.is_some()
    }

    /// Everything handed on is applied: publishes where the data stands and wakes the pausers.
    /// Ignored when the pauses were released meanwhile.
    pub fn settle(&self, at: ReplAux) {
        let mut inner = self.pause.lock();
        if inner.holders == 0 {
            return;
        }
        inner.paused_at = Some(at);
        for waker in inner.pausers.drain(..) {
            waker.wake();
        }
    }

    /// Resolves when `wanted()` is no longer `was` (a pause asked, or the last one released).
    pub fn changed(&self, was: bool) -> Changed<'_> {
        Changed {
            pause: self.pause,
            was,
        }
    }
}

impl Drop for LinkRegistration<'_> {
    fn drop(&mut self) {
        let mut inner = self.pause.lock();
        if inner.link == Some(self.id) {
            inner.link = None;
            inner.link_waker = None;
            inner.paused_at = None;
        }
        // Pausers waiting for this link see it gone and go on without a position.
        for waker in inner.pausers.drain(..) {
            waker.wake();
        }
    }
}

/// See `LinkRegistration::changed`.
pub struct Changed<'a> {
    pause: &'a ApplyPause,
    was: bool,
}

impl Future for Changed<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.pause.lock();
        if (inner.holders > 0) != self.was {
            return Poll::Ready(());
        }
        inner.link_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    fn at(offset: u64) -> ReplAux {
        ReplAux {
            replid: "a".repeat(40),
            offset,
            db: 0,
        }
    }

    #[test]
    fn without_a_link_a_pause_holds_nothing() {
        let pause = ApplyPause::default();
        let guard = pause.pause();
        assert!(guard.settled().now_or_never().is_some());
        assert_eq!(guard.position(), None);
        let link = pause.register();
        assert!(!link.wanted());
    }

    #[test]
    fn the_link_settles_and_resumes_when_released() {
        let pause = ApplyPause::default();
        let link = pause.register();
        assert!(link.changed(false).now_or_never().is_none());
        let guard = pause.pause();
        assert!(link.wanted());
        assert!(link.changed(false).now_or_never().is_some());
        assert!(guard.settled().now_or_never().is_none());
        link.settle(at(7));
        assert!(guard.settled().now_or_never().is_some());
        assert_eq!(guard.position(), Some(at(7)));
        drop(guard);
        assert!(!link.wanted());
        assert!(!link.is_settled());
    }

    #[test]
    fn a_link_that_goes_away_gives_no_position() {
        let pause = ApplyPause::default();
        let link = pause.register();
        let guard = pause.pause();
        link.settle(at(7));
        drop(link);
        assert_eq!(guard.position(), None);
        // A later link is not the one that settled for this pause.
        let later = pause.register();
        later.settle(at(9));
        assert_eq!(guard.position(), None);
        drop(guard);
        assert!(!later.wanted());
    }

    #[test]
    fn a_settle_after_the_release_is_ignored() {
        let pause = ApplyPause::default();
        let link = pause.register();
        drop(pause.pause());
        link.settle(at(3));
        assert!(!link.is_settled());
    }
}
