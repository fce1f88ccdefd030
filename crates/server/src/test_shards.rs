//! A test harness for the coordination layer without sockets: N real `Shard`s, each in its own
//! `ExecutorCtx`, connected by the real mesh (`mesh::build`) and driven on one glommio
//! `LocalExecutor`. Every shard gets one drain task per inbound receiver, as
//! `executor::executor_main` gives it, so messages, jobs, transactions and hops go through the same
//! code as in the server; only the threads are missing (all executors share one), and with them the
//! listeners, the expiry cycle and replication.
//!
//! `run(shards, |shards| async move { ... })` runs a test body with the contexts at hand. A body that
//! never finishes (a hop or a lock that never comes back) fails the test after `HUNG` instead of
//! hanging the suite. Setup and assertions may reach a shard's data directly (`command`,
//! `stored`, `put`, `journal`); what a test checks goes through the coordination code.
//!
//! This file holds no command names: the tests that use it (`*_tests.rs`) write them.

use crate::config::Config;
use crate::context::ExecutorCtx;
use crate::journal::wire::{self, Effect, Item};
use crate::keyplan::{KeyPlan, Route};
use crate::messages::Command;
use crate::output_limits::ClassLimit;
use crate::router::shard_of;
use crate::shard::{Shard, ShardMsg};
use crate::shared::Shared;
use crate::wakeup::{await_remote, await_remote_every, IDLE_REPOLL};
use bytes::{Bytes, BytesMut};
use damselfly_protocol::{Frame, Parser};
use damselfly_storage::Entry;
use futures::channel::oneshot;
use futures::StreamExt;
use glommio::{spawn_local, LocalExecutorBuilder};
use std::future::Future;
use std::rc::Rc;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;

/// How long a test body may take before it counts as hung. Bodies finish in milliseconds.
const HUNG: Duration = Duration::from_secs(30);

/// The shards of one test, all on the test's executor.
pub struct TestShards {
    ctxs: Vec<Rc<ExecutorCtx>>,
}

/// Starts `shards` shards on a fresh executor (on a thread of its own) and runs `body` there.
/// Panics in the body fail the test; so does a body still running after `HUNG`.
pub fn run<F, Fut>(shards: usize, body: F)
where
    F: FnOnce(TestShards) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let (done, finished) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("test-shards".into())
        .spawn(move || {
            let executor = LocalExecutorBuilder::default()
                .io_memory(1 << 16)
                .make()
                .expect("a glommio executor");
            executor.run(async move { body(TestShards::start(shards)).await });
            let _ = done.send(());
        })
        .expect("a thread for the shards");
    match finished.recv_timeout(HUNG) {
        Err(RecvTimeoutError::Timeout) => {
            panic!("the test body did not finish within {HUNG:?}: a hop or a lock never came back")
        }
        // Finished, or panicked (the sender was dropped unsent): join to pass the panic on.
        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

/// The words of a command line split at spaces.
pub fn words(line: &str) -> Vec<Bytes> {
    crate::spec::words(line)
}

pub fn bulk(value: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(value.as_bytes()))
}

impl TestShards {
    /// Builds the shards and their mesh and starts their drain tasks (on the current executor).
    fn start(count: usize) -> TestShards {
        let shared = Arc::new(Shared::new(Config::default(), count, 1000));
        let mut ctxs = Vec::with_capacity(count);
        for (id, ports) in crate::mesh::build(count).into_iter().enumerate() {
            let crate::mesh::Ports { senders, receivers } = ports;
            let shard = Shard::new(id, shared.clone());
            let ctx = Rc::new(ExecutorCtx::new(id, shard, senders, shared.clone()));
            for mut receiver in receivers {
                let ctx = ctx.clone();
                spawn_local(async move {
                    while let Some(message) = await_remote_every(receiver.next(), IDLE_REPOLL).await
                    {
                        ctx.shard.borrow_mut().handle(message);
                    }
                })
                .detach();
            }
            ctxs.push(ctx);
        }
        TestShards { ctxs }
    }

    /// The context of executor `shard`: a coordinator for transactions started from it.
    pub fn ctx(&self, shard: usize) -> &Rc<ExecutorCtx> {
        &self.ctxs[shard]
    }

    pub fn count(&self) -> usize {
        self.ctxs.len()
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.ctxs[0].shared
    }

    /// A key starting with `name` that `shard` owns.
    pub fn key(&self, name: &str, shard: usize) -> String {
        let shards = self.count();
        (0..)
            .map(|i| format!("{name}{i}"))
            .find(|key| shard_of(key.as_bytes(), shards) == shard)
            .unwrap_or_default()
    }

    /// Runs a command line on `shard`'s data now, in `db`, as a job on that shard runs it (no
    /// locks, no mesh): for setup and inspection. Every key of the command must live there.
    pub fn command(&self, shard: usize, db: usize, line: &str) -> Frame {
        let args = words(line);
        let def = crate::spec::resolve(&args).expect("a known command");
        match KeyPlan::new(def, &args, db, self.count()).route() {
            Route::Single(owner) => assert_eq!(owner, shard, "`{line}` runs on shard {owner}"),
            Route::NoKeys => {}
            Route::Multi => panic!("`{line}` has keys on several shards"),
        }
        self.ctxs[shard]
            .shard
            .borrow_mut()
            .run_job(|s| s.run_command(db, def, &args))
    }

    /// Sends one connection's batch of single-shard command lines to `shard` from executor `from`
    /// (`ShardMsg::Batch`, as the pipeline does), and waits for the replies: the commands run
    /// through the fast path, or wait behind the transactions holding their keys.
    pub async fn batch(&self, from: usize, shard: usize, db: usize, lines: &[&str]) -> Vec<Frame> {
        let commands = lines
            .iter()
            .map(|line| {
                let args = words(line);
                let def = crate::spec::resolve(&args).expect("a known command");
                Command { def, args }
            })
            .collect();
        let (reply, replies) = oneshot::channel();
        self.ctxs[from].send(
            shard,
            ShardMsg::Batch {
                db,
                commands,
                reply,
            },
        );
        await_remote(replies).await.expect("the shard replied")
    }

    /// Whether `shard` stores `key` in `db` at all, expired or not, without touching it.
    pub fn stored(&self, shard: usize, db: usize, key: &str) -> bool {
        self.ctxs[shard].shard.borrow().dbs[db]
            .peek_type(key.as_bytes(), 0)
            .is_some()
    }

    /// How many keys `shard` stores in `db`, expired ones not yet reclaimed included.
    pub fn stored_count(&self, shard: usize, db: usize) -> usize {
        self.ctxs[shard].shard.borrow().dbs[db].len()
    }

    /// Takes `key`'s entry out of `shard`'s `db`, whatever its expiry.
    pub fn extract(&self, shard: usize, db: usize, key: &str) -> Option<Entry> {
        self.ctxs[shard].shard.borrow_mut().dbs[db].extract(key.as_bytes())
    }

    /// Stores an entry in `shard`'s `db` as it is (an expiry in the past included).
    pub fn put(&self, shard: usize, db: usize, key: &str, entry: Entry) {
        self.ctxs[shard].shard.borrow_mut().dbs[db]
            .put(Bytes::copy_from_slice(key.as_bytes()), entry);
    }

    /// Turns replication journaling on for every shard, as the first replica's sync does.
    pub fn activate_journals(&self) {
        for ctx in &self.ctxs {
            ctx.shard.borrow_mut().activate_journal();
        }
    }

    /// The journal records `shard` wrote since its journal was activated, decoded as a replica
    /// reads them: (txid, parts, effects).
    pub fn journal(&self, shard: usize) -> Vec<(u64, u32, Vec<Effect>)> {
        let mut shard = self.ctxs[shard].shard.borrow_mut();
        let (start, _) = shard.journal.backlog_span();
        shard
            .journal
            .register_partial(READER_SESSION, start, UNLIMITED);
        let output = take_output(&shard, READER_SESSION);
        shard.journal.remove(READER_SESSION);
        decode_items(output)
            .into_iter()
            .map(|item| match item {
                Item::Journal {
                    txid,
                    parts,
                    effects,
                } => (txid, parts, effects),
                other => panic!("not a journal record: {other:?}"),
            })
            .collect()
    }

    /// What a replica's full sync sets up on every shard (as `replication::primary` registers a
    /// session): journaling on, a flow whose snapshot is in progress, every db's snapshot started.
    /// Nothing steps the snapshots; `flow` reads what the writes sent to the flow meanwhile.
    pub fn start_full_sync(&self) {
        for ctx in &self.ctxs {
            let mut shard = ctx.shard.borrow_mut();
            shard.activate_journal();
            shard.journal.register_full(SYNC_SESSION, UNLIMITED);
            for db in &mut shard.dbs {
                db.start_snapshot();
            }
        }
    }

    /// What `shard` queued for the flow of `start_full_sync` since the last call, in order.
    pub fn flow(&self, shard: usize) -> Vec<FlowItem> {
        let mut shard = self.ctxs[shard].shard.borrow_mut();
        shard.journal.seal();
        let output = take_output(&shard, SYNC_SESSION);
        decode_items(output)
            .into_iter()
            .map(|item| match item {
                Item::Journal {
                    txid,
                    parts,
                    effects,
                } => FlowItem::Record {
                    txid,
                    parts,
                    effects: effects.iter().map(effect_line).collect(),
                },
                Item::Snapshot { records, .. } => FlowItem::Snapshot(
                    crate::journal::snapshot::decode_chunk(&records)
                        .expect("a snapshot chunk")
                        .into_iter()
                        .map(|(key, _)| String::from_utf8_lossy(&key).into_owned())
                        .collect(),
                ),
                other => panic!("unexpected on a flow: {other:?}"),
            })
            .collect()
    }

    /// Steps `shard`'s snapshot of `db` to its end: the keys it saves.
    pub fn finish_snapshot(&self, shard: usize, db: usize) -> Vec<String> {
        let mut images = Vec::new();
        let mut shard = self.ctxs[shard].shard.borrow_mut();
        while !shard.dbs[db].snapshot_step(u32::MAX, &mut images) {}
        images
            .into_iter()
            .map(|image| String::from_utf8_lossy(&image.key).into_owned())
            .collect()
    }
}

/// One item of a replication flow, readable.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowItem {
    /// A journal record: its transaction, parts, and effects as lines.
    Record {
        txid: u64,
        parts: u32,
        effects: Vec<String>,
    },
    /// A chunk of snapshot entries: their keys.
    Snapshot(Vec<String>),
}

/// The session `journal` registers to read the backlog, and the one `start_full_sync` registers.
const READER_SESSION: u64 = u64::MAX;
const SYNC_SESSION: u64 = u64::MAX - 1;
const UNLIMITED: ClassLimit = ClassLimit {
    hard: 0,
    soft: 0,
    soft_seconds: 0,
};

fn take_output(shard: &Shard, session: u64) -> Vec<u8> {
    shard
        .journal
        .sink(session)
        .and_then(|sink| sink.take_output(usize::MAX))
        .unwrap_or_default()
}

/// The items of a flow's bytes, as a replica decodes them.
fn decode_items(output: Vec<u8>) -> Vec<Item> {
    let mut input = BytesMut::from(&output[..]);
    let mut parser = Parser::new();
    let mut items = Vec::new();
    while let Some(args) = parser.next_command(&mut input).expect("a well-formed flow") {
        items.push(wire::decode(args).expect("a flow item"));
    }
    items
}

/// An effect as its words joined by spaces, for readable assertions.
pub fn effect_line(effect: &Effect) -> String {
    effect
        .1
        .iter()
        .map(|word| String::from_utf8_lossy(word).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

impl TestShards {
    /// Whether a transaction on `shard` holds a lock on `key` in `db`.
    pub fn locked(&self, shard: usize, db: usize, key: &str) -> bool {
        self.ctxs[shard]
            .shard
            .borrow()
            .key_locked(db, &Bytes::copy_from_slice(key.as_bytes()))
    }

    /// Lets every message sent so far arrive: one round trip from every executor to every shard
    /// (each channel delivers in order), after the tasks ready now (a dropped transaction's
    /// release) have run.
    pub async fn settle(&self) {
        crate::context::yield_once().await;
        for ctx in &self.ctxs {
            for shard in 0..self.count() {
                ctx.run_on(shard, |_| ()).await;
            }
        }
    }

    /// Asserts that, once the messages sent so far have arrived (a transaction's last releases
    /// are sent without waiting), no shard holds a lock on any of `keys` in `db` and no
    /// transaction is queued.
    pub async fn assert_unlocked(&self, db: usize, keys: &[&str]) {
        self.settle().await;
        for (shard, ctx) in self.ctxs.iter().enumerate() {
            for key in keys {
                assert!(
                    !self.locked(shard, db, key),
                    "{key} still locked on shard {shard}"
                );
            }
            assert_eq!(
                ctx.shard.borrow().queued(),
                0,
                "a transaction is left queued on shard {shard}"
            );
        }
    }

    /// Waits until `condition` holds, letting the shards handle their messages meanwhile.
    pub async fn until(&self, condition: impl Fn(&TestShards) -> bool) {
        while !condition(self) {
            glommio::timer::sleep(Duration::from_micros(100)).await;
        }
    }

    /// Hops delivered to `shard` that wait for their transaction's turn (and deferred batches).
    pub fn waiting_hops(&self, shard: usize) -> usize {
        self.ctxs[shard].shard.borrow().waiting_hops()
    }
}

/// The elements of an array or set reply as text, sorted (set members come in any order).
pub fn sorted(frame: &Frame) -> Vec<String> {
    let items = match frame {
        Frame::Array(items) | Frame::Set(items) => items,
        other => panic!("not an array or set: {other:?}"),
    };
    let mut texts: Vec<String> = items
        .iter()
        .map(|item| match item {
            Frame::Bulk(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            other => panic!("not a bulk string: {other:?}"),
        })
        .collect();
    texts.sort();
    texts
}
