//! Unit tests of a shard's transaction coordination, with no sockets and no executor: `schedule` (which
//! transactions are free, which queue, which are refused by the order stamps), the order in which queued
//! hops run as `execute` and `finish` are called, lock release, and a connection's batch that meets a lock
//! and waits in the queue behind the transaction holding it.
//!
//! Every direct call to `run_command` / `try_fast` and every command a batch carries goes through the
//! helpers at the top (`set`, `fast_get`, `command`), so a change of their signatures is a one-place edit.

use super::*;
use crate::config::Config;
use std::cell::RefCell;
use std::rc::Rc;

// ---- helpers ----------------------------------------------------------------------------------------

fn new_shard() -> Shard {
    let shared = Shared::new(Config::default(), 1, 1000);
    Shard::new(0, Arc::new(shared))
}

/// One command as a connection sends it, resolved to its definition.
fn command(parts: &[&str]) -> Command {
    let args: Vec<Bytes> = parts
        .iter()
        .map(|part| Bytes::copy_from_slice(part.as_bytes()))
        .collect();
    let def = crate::spec::resolve(&args).expect("a known command");
    Command { def, args }
}

/// SET in db 0, ignoring locks (as a transaction's hop does).
fn set(shard: &mut Shard, key: &str, value: &str) -> Frame {
    let set = command(&["SET", key, value]);
    shard.run_command(0, set.def, &set.args)
}

/// GET in db 0 through the fast path: None when a lock held by a transaction stops it.
fn fast_get(shard: &mut Shard, key: &str) -> Option<Frame> {
    let get = command(&["GET", key]);
    shard.try_fast(0, get.def, &get.args)
}

/// Sends one connection's batch (db 0) as a mesh message; the receiver holds its replies.
fn batch(shard: &mut Shard, commands: &[&[&str]]) -> oneshot::Receiver<Vec<Frame>> {
    let (reply, answer) = oneshot::channel();
    shard.handle(ShardMsg::Batch {
        db: 0,
        commands: commands.iter().map(|parts| command(parts)).collect(),
        reply,
    });
    answer
}

fn lock(key: &str, exclusive: bool) -> LockRequest {
    LockRequest {
        db: 0,
        key: Bytes::copy_from_slice(key.as_bytes()),
        exclusive,
    }
}

fn write(key: &str) -> Vec<LockRequest> {
    vec![lock(key, true)]
}

fn read(key: &str) -> Vec<LockRequest> {
    vec![lock(key, false)]
}

fn locked(shard: &Shard, key: &str) -> bool {
    shard.key_locked(0, &Bytes::copy_from_slice(key.as_bytes()))
}

fn is_free(shard: &Shard, txid: u64) -> bool {
    shard.queue[&txid].free
}

fn bulk(value: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(value.as_bytes()))
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

/// Which hops ran, in order (each hop records its transaction id).
#[derive(Default, Clone)]
struct Log(Rc<RefCell<Vec<u64>>>);

impl Log {
    fn hop(&self, txid: u64) -> LocalJob {
        let log = self.clone();
        Box::new(move |_: &mut Shard| log.0.borrow_mut().push(txid))
    }

    fn ran(&self) -> Vec<u64> {
        self.0.borrow().clone()
    }
}

/// The batch's replies if they were sent already; None while it waits.
fn replies_now(answer: &mut oneshot::Receiver<Vec<Frame>>) -> Option<Vec<Frame>> {
    answer.try_recv().expect("the shard dropped the reply")
}

// ---- 1. schedule: free or queued ---------------------------------------------------------------------

#[test]
fn a_conflicting_transaction_queues_and_a_disjoint_one_runs_at_once() {
    let mut shard = new_shard();
    let log = Log::default();
    assert!(shard.schedule(1, write("a"), None));
    assert!(shard.schedule(2, write("a"), None));
    assert!(shard.schedule(3, write("b"), None));
    assert!(is_free(&shard, 1));
    assert!(!is_free(&shard, 2), "2 conflicts with 1 on a");
    assert!(is_free(&shard, 3), "3 touches only b");

    // 3 is not the head, but it is free: its hop runs now, while 1 still holds a.
    shard.execute(3, true, log.hop(3));
    assert_eq!(log.ran(), [3]);
    // 2 is neither free nor the head: its hop waits.
    shard.execute(2, true, log.hop(2));
    assert_eq!(log.ran(), [3]);
    assert!(locked(&shard, "a"));
    assert!(!locked(&shard, "b"), "3 concluded and released b");
}

#[test]
fn shared_locks_on_a_key_do_not_conflict_but_exclusive_ones_do() {
    let mut shard = new_shard();
    let log = Log::default();
    assert!(shard.schedule(1, read("a"), None));
    assert!(shard.schedule(2, read("a"), None));
    assert!(shard.schedule(3, write("a"), None));
    assert!(shard.schedule(4, read("a"), None));
    assert!(is_free(&shard, 2), "two readers share a");
    assert!(!is_free(&shard, 3), "a writer waits for the readers");
    assert!(!is_free(&shard, 4), "a reader waits for a queued writer");
    shard.execute(2, true, log.hop(2));
    shard.execute(4, true, log.hop(4));
    assert_eq!(
        log.ran(),
        [2],
        "the second reader ran at once, the later one waits"
    );

    // A writer first: a reader of the same key waits for it.
    let mut shard = new_shard();
    assert!(shard.schedule(1, write("a"), None));
    assert!(shard.schedule(2, read("a"), None));
    assert!(!is_free(&shard, 2));
    // The same key in another db is another key.
    let other_db = vec![LockRequest {
        db: 1,
        ..lock("a", true)
    }];
    assert!(shard.schedule(3, other_db, None));
    assert!(is_free(&shard, 3));
}

#[test]
fn a_whole_shard_lock_conflicts_with_everything() {
    // Taken after a key lock: it queues.
    let mut shard = new_shard();
    assert!(shard.schedule(1, read("a"), None));
    assert!(shard.schedule(2, vec![LockRequest::whole_shard()], None));
    assert!(!is_free(&shard, 2));

    // Held: any key of any db, even a read, queues behind it; the fast path is closed.
    let mut shard = new_shard();
    let log = Log::default();
    assert!(shard.schedule(1, vec![LockRequest::whole_shard()], None));
    assert!(is_free(&shard, 1));
    let elsewhere = vec![LockRequest {
        db: 5,
        ..lock("unrelated", false)
    }];
    assert!(shard.schedule(2, elsewhere, None));
    assert!(!is_free(&shard, 2));
    assert!(locked(&shard, "never-mentioned"));
    assert_eq!(fast_get(&mut shard, "never-mentioned"), None);
    shard.execute(2, true, log.hop(2));
    assert!(log.ran().is_empty());
    shard.finish(1);
    assert_eq!(log.ran(), [2]);
    assert_eq!(fast_get(&mut shard, "never-mentioned"), Some(Frame::Null));
}

// ---- 2. ordering -------------------------------------------------------------------------------------

#[test]
fn queued_conflicting_hops_run_in_txid_order_as_earlier_ones_finish() {
    let mut shard = new_shard();
    let log = Log::default();
    for txid in 1..=4 {
        assert!(shard.schedule(txid, write("a"), None));
    }
    // Hops arrive newest first; none but the head's may run.
    shard.execute(4, true, log.hop(4));
    shard.execute(3, true, log.hop(3));
    shard.execute(2, true, log.hop(2));
    assert!(log.ran().is_empty());
    shard.execute(1, true, log.hop(1));
    assert_eq!(log.ran(), [1, 2, 3, 4]);
    assert!(shard.queue.is_empty());
    assert!(!locked(&shard, "a"));
}

#[test]
fn a_deferred_hop_runs_when_the_head_finishes() {
    let mut shard = new_shard();
    let log = Log::default();
    assert!(shard.schedule(1, write("a"), None));
    assert!(shard.schedule(2, write("a"), None));
    shard.execute(2, false, log.hop(2));
    assert!(log.ran().is_empty(), "2 is not runnable while 1 is queued");
    shard.execute(1, false, log.hop(1));
    assert_eq!(
        log.ran(),
        [1],
        "1's hop does not let 2 run: 1 still holds a"
    );
    shard.finish(1);
    assert_eq!(
        log.ran(),
        [1, 2],
        "finishing the head runs the deferred hop"
    );
    // 2 did not conclude: it is the head now, holds a, and its next hop runs at once.
    assert!(locked(&shard, "a"));
    shard.execute(2, true, log.hop(2));
    assert_eq!(log.ran(), [1, 2, 2]);
    assert!(!locked(&shard, "a"));
}

// ---- 3. order stamps ---------------------------------------------------------------------------------

#[test]
fn an_older_transaction_after_a_younger_conflicting_one_is_refused() {
    let mut shard = new_shard();
    assert!(shard.schedule(10, write("a"), None));
    assert!(!shard.schedule(5, write("a"), None));
    assert!(
        !shard.schedule(6, read("a"), None),
        "reading before a younger write"
    );
    assert!(!shard.queue.contains_key(&5) && !shard.queue.contains_key(&6));
    shard.finish(10);
    assert!(!locked(&shard, "a"), "a refused transaction takes no lock");
    // The rule holds after the younger one finished and released its locks.
    assert!(!shard.schedule(7, read("a"), None));
    assert!(shard.schedule(11, write("a"), None));

    // Readers do not order each other, but an older writer after a younger reader is refused.
    assert!(shard.schedule(20, read("c"), None));
    assert!(shard.schedule(15, read("c"), None));
    assert!(!shard.schedule(14, write("c"), None));
}

#[test]
fn an_older_transaction_on_other_keys_is_accepted() {
    let mut shard = new_shard();
    assert!(shard.schedule(100, write("a"), None));
    // Stamps are kept per bucket of keys, so a key sharing a's bucket (1 chance in 4096 with a random
    // hasher) is refused too; of three distinct keys at least two must be accepted.
    let accepted = ["b", "c", "d"]
        .iter()
        .zip(1..)
        .filter(|(key, txid)| shard.schedule(*txid, write(key), None))
        .count();
    assert!(
        accepted >= 2,
        "only {accepted} of 3 older disjoint transactions accepted"
    );
    // Whole-shard: refused after any younger transaction, accepted when younger than all.
    assert!(!shard.schedule(50, vec![LockRequest::whole_shard()], None));
    assert!(shard.schedule(101, vec![LockRequest::whole_shard()], None));
    assert!(!is_free(&shard, 101));
}

// ---- 4. release --------------------------------------------------------------------------------------

#[test]
fn finish_releases_locks_and_reopens_the_fast_path() {
    let mut shard = new_shard();
    set(&mut shard, "a", "1");
    set(&mut shard, "b", "2");
    assert!(shard.schedule(1, vec![lock("a", true), lock("b", false)], None));
    assert!(locked(&shard, "a") && locked(&shard, "b"));
    assert_eq!(fast_get(&mut shard, "a"), None, "a is write-locked");
    assert_eq!(
        fast_get(&mut shard, "b"),
        Some(bulk("2")),
        "a shared lock admits reads"
    );
    assert_eq!(fast_get(&mut shard, "c"), Some(Frame::Null));

    shard.handle(ShardMsg::Release { txid: 1 });
    assert!(!locked(&shard, "a") && !locked(&shard, "b"));
    assert!(shard.locks.is_empty());
    assert_eq!(fast_get(&mut shard, "a"), Some(bulk("1")));
    // Finishing again (a duplicate Release) changes nothing.
    shard.finish(1);
    assert!(shard.locks.is_empty());

    // A transaction finished out of order releases only its own locks.
    assert!(shard.schedule(2, write("a"), None));
    assert!(shard.schedule(3, vec![lock("a", true), lock("d", true)], None));
    shard.finish(3);
    assert!(locked(&shard, "a"), "2 still holds a");
    assert!(!locked(&shard, "d"));
    shard.finish(2);
    assert!(shard.locks.is_empty() && shard.queue.is_empty());
}

// ---- 5. batches meeting a lock -----------------------------------------------------------------------

#[test]
fn a_batch_meeting_a_lock_waits_behind_the_holder_and_replies_in_order() {
    let mut shard = new_shard();
    // Deferred batches take ids from the same counter, so this transaction must too.
    let txid = shard.shared.next_txid();
    let (reply, mut accepted) = oneshot::channel();
    shard.handle(ShardMsg::Schedule {
        txid,
        locks: write("a"),
        journal_parts: None,
        reply,
    });
    assert_eq!(accepted.try_recv(), Ok(Some(true)));

    // The first command runs at once; from GET a on, the batch waits for the transaction.
    let mut first = batch(
        &mut shard,
        &[
            &["SET", "b", "x"],
            &["GET", "a"],
            &["SET", "a", "y"],
            &["SET", "d", "w"],
            &["GET", "a"],
        ],
    );
    assert_eq!(replies_now(&mut first), None);
    assert_eq!(fast_get(&mut shard, "b"), Some(bulk("x")));
    assert_eq!(
        fast_get(&mut shard, "d"),
        None,
        "the waiting part locks its keys"
    );
    // Another connection's batch on a queues behind the first; one on other keys does not wait.
    let mut second = batch(&mut shard, &[&["GET", "a"]]);
    let mut unrelated = batch(&mut shard, &[&["SET", "c", "z"], &["GET", "c"]]);
    assert_eq!(replies_now(&mut unrelated), Some(vec![ok(), bulk("z")]));
    assert_eq!(replies_now(&mut second), None);
    assert!(locked(&shard, "a"));

    // The transaction writes a and concludes: the batches run after it, in arrival order.
    let (job, mut done) = super::job(|shard: &mut Shard| {
        set(shard, "a", "from-tx");
    });
    shard.handle(ShardMsg::Execute {
        txid,
        conclude: true,
        job,
    });
    assert!(matches!(done.try_recv(), Ok(Some(()))));
    assert_eq!(
        replies_now(&mut first),
        Some(vec![ok(), bulk("from-tx"), ok(), ok(), bulk("y")])
    );
    assert_eq!(replies_now(&mut second), Some(vec![bulk("y")]));
    assert!(!locked(&shard, "a"));
    assert!(shard.queue.is_empty());
    assert_eq!(fast_get(&mut shard, "a"), Some(bulk("y")));
}
