//! The embedded SQLite catalog: every stage's result per file, written as it is
//! made, so a killed run loses nothing and a rerun skips unchanged files.
//!
//! Rows are keyed by stage, file path, size and modification time: a file whose
//! size or mtime changed is analysed again. Each stage names its own version
//! (`probe@1`) so a change of definition invalidates only that stage's rows.
//! Writes go through one writer thread in short transactions (WAL mode), so a
//! SIGKILL loses at most the last uncommitted batch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use thiserror::Error;

/// Rows per write transaction at most.
const BATCH_ROWS: usize = 64;
/// Longest a finished result waits before it is committed.
const BATCH_WAIT: Duration = Duration::from_millis(250);

/// A catalog failure, naming the database file.
#[derive(Debug, Error)]
pub enum CatalogError {
    /// SQLite refused an operation.
    #[error("catalog {path}: {source}")]
    Sql {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The writer thread stopped early.
    #[error("catalog {0}: the writer thread stopped: {1}")]
    Writer(PathBuf, String),
}

/// A stored result of one stage for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResult {
    /// File size the result was computed for.
    pub size_bytes: u64,
    /// Modification time (ns since epoch) the result was computed for.
    pub mtime_ns: i64,
    /// The stage's result as JSON.
    pub json: String,
}

/// The catalog database in the output directory.
#[derive(Debug)]
pub struct Catalog {
    path: PathBuf,
    conn: Connection,
}

impl Catalog {
    /// Open (or create) the catalog at `path`.
    pub fn open(path: &Path) -> Result<Self, CatalogError> {
        let conn = connect(path)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS results (
                stage TEXT NOT NULL,
                key TEXT NOT NULL,
                size_bytes INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL,
                json TEXT NOT NULL,
                PRIMARY KEY (stage, key)
            );",
        )
        .map_err(|source| sql(path, source))?;
        Ok(Catalog {
            path: path.to_path_buf(),
            conn,
        })
    }

    /// Every stored result of `stage`, by file key.
    pub fn load_stage(&self, stage: &str) -> Result<HashMap<String, StoredResult>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, size_bytes, mtime_ns, json FROM results WHERE stage = ?1")
            .map_err(|e| sql(&self.path, e))?;
        let rows = stmt
            .query_map([stage], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    StoredResult {
                        size_bytes: row.get::<_, i64>(1)? as u64,
                        mtime_ns: row.get(2)?,
                        json: row.get(3)?,
                    },
                ))
            })
            .map_err(|e| sql(&self.path, e))?;
        rows.collect::<Result<HashMap<_, _>, _>>()
            .map_err(|e| sql(&self.path, e))
    }

    /// Call `f` with every stored result of `stage` (key, result), one row
    /// at a time, so a large stage is never held in memory as a whole.
    pub fn for_each_in_stage(
        &self,
        stage: &str,
        mut f: impl FnMut(&str, StoredResult),
    ) -> Result<(), CatalogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, size_bytes, mtime_ns, json FROM results WHERE stage = ?1")
            .map_err(|e| sql(&self.path, e))?;
        let mut rows = stmt.query([stage]).map_err(|e| sql(&self.path, e))?;
        while let Some(row) = rows.next().map_err(|e| sql(&self.path, e))? {
            let key: String = row.get(0).map_err(|e| sql(&self.path, e))?;
            let stored = StoredResult {
                size_bytes: row.get::<_, i64>(1).map_err(|e| sql(&self.path, e))? as u64,
                mtime_ns: row.get(2).map_err(|e| sql(&self.path, e))?,
                json: row.get(3).map_err(|e| sql(&self.path, e))?,
            };
            f(&key, stored);
        }
        Ok(())
    }

    /// Copy every row of the catalog at `other` into this one (a row of the
    /// same stage and key is replaced), in one transaction.
    pub fn absorb(&self, other: &Path) -> Result<u64, CatalogError> {
        let other_str = other.to_string_lossy();
        self.conn
            .execute("ATTACH DATABASE ?1 AS other", [other_str.as_ref()])
            .map_err(|e| sql(other, e))?;
        let copied = self
            .conn
            .execute(
                "INSERT OR REPLACE INTO main.results (stage, key, size_bytes, mtime_ns, json)
                 SELECT stage, key, size_bytes, mtime_ns, json FROM other.results",
                [],
            )
            .map_err(|e| sql(other, e));
        let detached = self
            .conn
            .execute("DETACH DATABASE other", [])
            .map_err(|e| sql(other, e));
        let n = copied?;
        detached?;
        Ok(n as u64)
    }

    /// Start a writer thread for `stage`. Send results through the returned
    /// [`StageWriter`] from any thread; call [`StageWriter::finish`] to flush.
    pub fn writer(&self, stage: &str) -> Result<StageWriter, CatalogError> {
        let conn = connect(&self.path)?;
        let (tx, rx) = mpsc::channel::<Row>();
        let stage = stage.to_string();
        let path = self.path.clone();
        let handle = thread::Builder::new()
            .name("catalog-writer".into())
            .spawn(move || write_loop(&conn, &stage, &path, rx))
            .map_err(|e| CatalogError::Writer(self.path.clone(), e.to_string()))?;
        Ok(StageWriter {
            tx,
            handle,
            path: self.path.clone(),
        })
    }
}

struct Row {
    key: String,
    size_bytes: u64,
    mtime_ns: i64,
    json: String,
}

/// Sends one stage's results to the catalog's writer thread.
pub struct StageWriter {
    tx: mpsc::Sender<Row>,
    handle: thread::JoinHandle<Result<(), CatalogError>>,
    path: PathBuf,
}

impl StageWriter {
    /// A handle to send results from another thread.
    pub fn sender(&self) -> ResultSender {
        ResultSender(self.tx.clone())
    }

    /// Flush what is queued, stop the writer thread and report its failure, if any.
    pub fn finish(self) -> Result<(), CatalogError> {
        drop(self.tx);
        self.handle
            .join()
            .map_err(|_| CatalogError::Writer(self.path, "panicked".into()))?
    }
}

/// A cloneable handle that queues results for the catalog writer.
#[derive(Clone)]
pub struct ResultSender(mpsc::Sender<Row>);

impl ResultSender {
    /// Queue one file's result. Returns false if the writer has stopped.
    pub fn send(&self, key: &str, size_bytes: u64, mtime_ns: i64, json: String) -> bool {
        self.0
            .send(Row {
                key: key.to_string(),
                size_bytes,
                mtime_ns,
                json,
            })
            .is_ok()
    }
}

fn write_loop(
    conn: &Connection,
    stage: &str,
    path: &Path,
    rx: mpsc::Receiver<Row>,
) -> Result<(), CatalogError> {
    let mut batch: Vec<Row> = Vec::with_capacity(BATCH_ROWS);
    let mut open = true;
    while open {
        let deadline = Instant::now() + BATCH_WAIT;
        match rx.recv() {
            Ok(row) => batch.push(row),
            Err(_) => open = false,
        }
        while open && batch.len() < BATCH_ROWS {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(row) => batch.push(row),
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
            }
        }
        if !batch.is_empty() {
            commit(conn, stage, &batch).map_err(|e| sql(path, e))?;
            batch.clear();
        }
    }
    Ok(())
}

fn commit(conn: &Connection, stage: &str, rows: &[Row]) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT OR REPLACE INTO results (stage, key, size_bytes, mtime_ns, json)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for r in rows {
            stmt.execute(params![
                stage,
                r.key,
                r.size_bytes as i64,
                r.mtime_ns,
                r.json
            ])?;
        }
    }
    tx.commit()
}

fn connect(path: &Path) -> Result<Connection, CatalogError> {
    let conn = Connection::open(path).map_err(|e| sql(path, e))?;
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(|e| sql(path, e))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| sql(path, e))?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| sql(path, e))?;
    Ok(conn)
}

fn sql(path: &Path, source: rusqlite::Error) -> CatalogError {
    CatalogError::Sql {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_survive_reopen_and_replace_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("catalog.sqlite");
        let cat = Catalog::open(&db).unwrap();
        let w = cat.writer("probe@1").unwrap();
        let s = w.sender();
        assert!(s.send("/a.mp4", 10, 5, "{\"x\":1}".into()));
        assert!(s.send("/a.mp4", 11, 6, "{\"x\":2}".into()));
        assert!(s.send("/b.mp4", 1, 1, "{}".into()));
        drop(s);
        w.finish().unwrap();
        drop(cat);
        let cat = Catalog::open(&db).unwrap();
        let rows = cat.load_stage("probe@1").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows["/a.mp4"],
            StoredResult {
                size_bytes: 11,
                mtime_ns: 6,
                json: "{\"x\":2}".into()
            }
        );
        assert!(cat.load_stage("frames@1").unwrap().is_empty());
        let mut seen = Vec::new();
        cat.for_each_in_stage("probe@1", |k, r| seen.push((k.to_string(), r.size_bytes)))
            .unwrap();
        seen.sort();
        assert_eq!(
            seen,
            [("/a.mp4".to_string(), 11), ("/b.mp4".to_string(), 1)]
        );
        // Absorb: rows of another catalog join these, same keys replaced.
        let db2 = dir.path().join("other.sqlite");
        let other = Catalog::open(&db2).unwrap();
        let w = other.writer("probe@1").unwrap();
        w.sender().send("/b.mp4", 2, 2, "{\"y\":1}".into());
        w.sender().send("/c.mp4", 3, 3, "{}".into());
        w.finish().unwrap();
        drop(other);
        assert_eq!(cat.absorb(&db2).unwrap(), 2);
        let rows = cat.load_stage("probe@1").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows["/b.mp4"].size_bytes, 2);
    }
}
