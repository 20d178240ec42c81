//! Group commit where the database has one writer at a time (SQLite): the writes of
//! concurrent requests share one transaction, so one commit (one flush to disk) serves many
//! of them, instead of each write waiting for the one before it to flush.
//!
//! A write takes its *turn* (a lock granted in arrival order), makes its changes in the open
//! transaction and gives the turn up. Then it queues for a second turn, behind every write
//! that queued meanwhile; if its batch is still open when that turn comes, it commits the
//! batch for all of them. No write returns before its batch has committed, and each returns
//! the commit's outcome: what a write reports as done is stored (as durably as the database's
//! `synchronous` setting makes any commit).
//!
//! A write that fails — a statement returns an error, or the write is abandoned (its future
//! dropped) while it changes the database — ends its batch: the transaction is rolled back
//! and every write of the batch fails, so that none reports a change that was not stored, and
//! none is stored in part. A write that fails before it changes anything (it only read) leaves
//! the batch as it was. Commits run in tasks of their own: a caller that goes away does not
//! cancel a commit begun, nor leave its batch open.
//! (A savepoint per write would confine a failure to its write, at a quarter of the batch's
//! throughput; the writes grantor batches fail only when the database does, e.g. a full disk,
//! which fails the other writes as well. Their data is serialized before the first
//! statement.) Writes that do not take part in batches ([`WriteQueue::turn`]: the purge, the
//! revocations) commit any open batch first.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::{Database, Executor, Pool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use crate::error::Error;

/// A batch's commit, as its writes learn it: `None` until it is known. (A driver's error is
/// not `Clone`, so the writes share its message.)
type Outcome = Option<Result<(), Arc<str>>>;

/// The writers' queue of one storage (and its clones).
pub(crate) struct WriteQueue<DB: Database> {
    batch: Arc<Mutex<Batch<DB>>>,
    /// The statement that opens a batch's transaction (`BEGIN IMMEDIATE` on SQLite).
    begin: &'static str,
}

/// The open batch, guarded by the turn.
pub(crate) struct Batch<DB: Database> {
    /// The open transaction; `None` between batches (or when a write abandoned it).
    tx: Option<Transaction<'static, DB>>,
    /// Writes finished in the open transaction.
    writes: usize,
    /// Counts batches, so that a write knows whether the open batch is still its own.
    number: u64,
    /// Where the open batch's outcome will be announced.
    outcome: watch::Sender<Outcome>,
}

/// A write in progress: the turn, and the batch's transaction (a connection inside it).
pub(crate) struct BatchedWrite<DB: Database> {
    tx: Transaction<'static, DB>,
    turn: OwnedMutexGuard<Batch<DB>>,
    queue: Arc<Mutex<Batch<DB>>>,
}

impl<DB: Database> Batch<DB> {
    /// Ends the open batch: commits its transaction and announces the outcome to its writes.
    /// A batch whose transaction is gone (a write abandoned it) is announced as failed.
    async fn settle(&mut self) -> Result<(), Error> {
        if self.tx.is_none() && self.writes == 0 {
            return Ok(());
        }
        let tx = self.tx.take();
        self.writes = 0;
        self.number = self.number.wrapping_add(1);
        let announce = std::mem::replace(&mut self.outcome, watch::channel(None).0);
        // Cancelled during the commit, `announce` is dropped: the writes learn of a failure.
        let outcome = match tx {
            Some(tx) => tx.commit().await.map_err(|e| Arc::from(e.to_string())),
            None => Err(Arc::from(
                "a write of the batch failed or was abandoned: nothing of the batch was stored",
            )),
        };
        announce.send_replace(Some(outcome.clone()));
        outcome.map_err(batch_error)
    }
}

/// Settles the open batch in a task of its own, which a cancelled caller does not cancel: a
/// commit begun is finished and announced. Hands the turn back.
async fn settle_in_task<DB: Database>(
    mut turn: OwnedMutexGuard<Batch<DB>>,
) -> Result<OwnedMutexGuard<Batch<DB>>, Error> {
    if turn.tx.is_none() && turn.writes == 0 {
        return Ok(turn);
    }
    tokio::spawn(async move {
        // The batch's writes learn the outcome through its announcement.
        let _ = turn.settle().await;
        turn
    })
    .await
    .map_err(Error::storage)
}

fn batch_error(message: Arc<str>) -> Error {
    Error::storage(format!("the batch's commit failed: {message}"))
}

impl<DB: Database> WriteQueue<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// A queue whose batches open with `begin`.
    pub(crate) fn new(begin: &'static str) -> Self {
        let batch = Batch {
            tx: None,
            writes: 0,
            number: 0,
            outcome: watch::channel(None).0,
        };
        Self {
            batch: Arc::new(Mutex::new(batch)),
            begin,
        }
    }

    /// The turn for a write outside the batches: any open batch is committed first (its own
    /// writes learn how that went; this write goes on either way), and no batch opens until
    /// the turn is dropped.
    pub(crate) async fn turn(&self) -> Result<OwnedMutexGuard<Batch<DB>>, Error> {
        let turn = self.batch.clone().lock_owned().await;
        settle_in_task(turn).await
    }

    /// Starts a write in the open batch (opening one if there is none).
    pub(crate) async fn begin(&self, pool: &Pool<DB>) -> Result<BatchedWrite<DB>, Error> {
        let mut turn = self.batch.clone().lock_owned().await;
        if turn.tx.is_none() && turn.writes > 0 {
            // Abandoned: its writes learn that it failed, and a new batch starts.
            let _ = turn.settle().await;
        }
        let tx = match turn.tx.take() {
            Some(tx) => tx,
            None => pool.begin_with(self.begin).await.map_err(Error::storage)?,
        };
        Ok(BatchedWrite {
            tx,
            turn,
            queue: self.batch.clone(),
        })
    }
}

impl<DB: Database> BatchedWrite<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Ends the write with the result of its changes: a successful write returns `value`
    /// once its batch has committed; a failed one rolls its batch back, failing the batch's
    /// other writes too.
    pub(crate) async fn finish<T>(self, result: Result<T, Error>) -> Result<T, Error> {
        let BatchedWrite {
            tx,
            mut turn,
            queue,
        } = self;
        let value = match result {
            Ok(value) => value,
            Err(error) => {
                drop(tx);
                // Announces the failure to the batch's earlier writes, if any.
                let _ = turn.settle().await;
                return Err(error);
            }
        };
        turn.tx = Some(tx);
        turn.writes += 1;
        let number = turn.number;
        let mut outcome = turn.outcome.subscribe();
        drop(turn);
        // The second turn, behind every write that queued meanwhile (they joined the batch),
        // in a task of its own: the batch is committed even if this write's caller goes away.
        tokio::spawn(async move {
            let mut turn = queue.lock_owned().await;
            if turn.number == number {
                let _ = turn.settle().await;
            }
        });
        let announced = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Error::storage("the batch's commit was abandoned before it finished"))?;
        match announced.as_ref() {
            Some(Ok(())) => Ok(value),
            Some(Err(message)) => Err(batch_error(message.clone())),
            None => Err(Error::storage("the batch's commit is unknown")),
        }
    }
}

impl<DB: Database> BatchedWrite<DB> {
    /// Ends a write that changed nothing (it only read): its turn goes to the next write,
    /// and the batch goes on as if it had not taken part.
    pub(crate) fn unchanged(self) {
        let BatchedWrite { tx, mut turn, .. } = self;
        if turn.writes > 0 {
            // The batch's writes have their second turns queued: one of them commits it.
            turn.tx = Some(tx);
        }
        // Else the transaction holds nothing: rolled back, it frees the database's lock now.
    }
}

impl<DB: Database> Deref for BatchedWrite<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl<DB: Database> DerefMut for BatchedWrite<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// A write of several statements: in a shared batch (SQLite), or in a transaction of its own
/// (PostgreSQL, whose commits already share their flush to disk).
pub(crate) enum Write<DB: Database> {
    /// Shares its batch's transaction and commit.
    Batched(BatchedWrite<DB>),
    /// Its own transaction.
    Alone(Transaction<'static, DB>),
}

impl<DB: Database> Write<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Ends the write with the result of its changes: commits them if `result` is `Ok` (and
    /// returns its value once committed), rolls them back if not (a batched write's whole
    /// batch).
    pub(crate) async fn finish<T>(self, result: Result<T, Error>) -> Result<T, Error> {
        match self {
            Write::Batched(write) => write.finish(result).await,
            Write::Alone(tx) => {
                let value = result?;
                tx.commit().await.map_err(Error::storage)?;
                Ok(value)
            }
        }
    }
}

impl<DB: Database> Write<DB> {
    /// Ends a write that changed nothing (it only read), without waiting for any commit.
    pub(crate) fn unchanged(self) {
        match self {
            Write::Batched(write) => write.unchanged(),
            // Rolled back: nothing to keep.
            Write::Alone(tx) => drop(tx),
        }
    }
}

impl<DB: Database> Deref for Write<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &Self::Target {
        match self {
            Write::Batched(write) => write,
            Write::Alone(tx) => tx,
        }
    }
}

impl<DB: Database> DerefMut for Write<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Write::Batched(write) => write,
            Write::Alone(tx) => tx,
        }
    }
}
