//! The full sync's temporary RDB file, written, synced and removed on the executor's blocking
//! thread (glommio's `spawn_blocking`), so that executor 0 keeps serving its clients during a
//! large transfer: a write into the page cache may block for long under dirty-page throttling,
//! and the final fdatasync for as long as the disk takes.
//!
//! One write is in flight at a time while the executor reads the next chunk from the primary.
//! The file is shared with the blocking closures (`Arc<File>`, written through `&File`): a closure
//! whose future is dropped still runs, and nothing it returns owns a descriptor.

use crate::wakeup::await_remote;
use bytes::Bytes;
use std::fs::File;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

type Pending = Pin<Box<dyn Future<Output = Result<(), String>>>>;

pub struct TempFile {
    path: PathBuf,
    file: Arc<File>,
    in_flight: Option<Pending>,
}

/// Runs `work` on this executor's blocking thread and waits for it without blocking the
/// executor.
async fn off_executor<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> R {
    await_remote(glommio::executor().spawn_blocking(work)).await
}

impl TempFile {
    pub async fn create(path: &Path) -> Result<TempFile, String> {
        let owned = path.to_path_buf();
        let file = off_executor(move || File::create(&owned))
            .await
            .map_err(|err| format!("cannot create {}: {err}", path.display()))?;
        Ok(TempFile {
            path: path.to_path_buf(),
            file: Arc::new(file),
            in_flight: None,
        })
    }

    /// Waits for the previous write, then starts writing `bytes` (not waiting for it).
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), String> {
        self.settle().await?;
        if bytes.is_empty() {
            return Ok(());
        }
        let (file, path) = (self.file.clone(), self.path.clone());
        self.in_flight = Some(Box::pin(glommio::executor().spawn_blocking(move || {
            (&*file)
                .write_all(&bytes)
                .map_err(|err| format!("cannot write {}: {err}", path.display()))
        })));
        Ok(())
    }

    async fn settle(&mut self) -> Result<(), String> {
        match self.in_flight.take() {
            Some(write) => await_remote(write).await,
            None => Ok(()),
        }
    }

    /// Waits for the last write and syncs the file to disk.
    pub async fn finish(mut self) -> Result<(), String> {
        self.settle().await?;
        let (file, path) = (self.file.clone(), self.path.clone());
        off_executor(move || {
            file.sync_data()
                .map_err(|err| format!("cannot sync {}: {err}", path.display()))
        })
        .await
    }
}

/// Removes the file (unlinking a large file can take a while on ext4).
pub async fn remove(path: &Path) {
    let path = path.to_path_buf();
    let _ = off_executor(move || std::fs::remove_file(path)).await;
}
