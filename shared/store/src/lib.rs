//! Local snapshots of state rebuilt from a stream, in sled: entries (one per
//! account, say) and the stream sequence they include, written together in one
//! atomic batch. A service restarts from the snapshot and replays the stream
//! after its sequence; with no snapshot it replays from the start and gets the
//! same state. The stream stays the source of truth: a lost or deleted
//! snapshot only costs replay time.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

const SEQUENCE: &[u8] = b"sequence";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("snapshot entry {key}: {message}")]
    Codec { key: String, message: String },
}

/// One snapshot: a sled tree of JSON entries plus its sequence.
#[derive(Clone)]
pub struct Snapshot {
    db: sled::Db,
    entries: sled::Tree,
    meta: sled::Tree,
}

impl Snapshot {
    /// Opens (creating) the snapshot in `dir`.
    pub fn open(dir: &Path) -> Result<Snapshot, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .flush_every_ms(Some(200))
            .open()?;
        Ok(Snapshot {
            entries: db.open_tree("entries")?,
            meta: db.open_tree("meta")?,
            db,
        })
    }

    /// The stream sequence the snapshot includes (0: none).
    pub fn sequence(&self) -> Result<u64, StoreError> {
        Ok(self
            .meta
            .get(SEQUENCE)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0))
    }

    /// Every entry.
    pub fn load<T: DeserializeOwned>(&self) -> Result<Vec<(String, T)>, StoreError> {
        let mut out = Vec::new();
        for item in self.entries.iter() {
            let (k, v) = item?;
            let key = String::from_utf8_lossy(&k).to_string();
            let value = serde_json::from_slice(&v).map_err(|e| StoreError::Codec {
                key: key.clone(),
                message: e.to_string(),
            })?;
            out.push((key, value));
        }
        Ok(out)
    }

    /// Writes `entries` and moves the sequence to `sequence`, atomically.
    pub fn save<'a, T: Serialize + 'a>(
        &self,
        sequence: u64,
        entries: impl IntoIterator<Item = (&'a str, &'a T)>,
    ) -> Result<(), StoreError> {
        use sled::Transactional;
        let mut batch = sled::Batch::default();
        for (key, value) in entries {
            let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Codec {
                key: key.to_string(),
                message: e.to_string(),
            })?;
            batch.insert(key.as_bytes(), bytes);
        }
        (&self.entries, &self.meta)
            .transaction(|(entries, meta)| {
                entries.apply_batch(&batch)?;
                meta.insert(SEQUENCE, &sequence.to_be_bytes())?;
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
                sled::transaction::TransactionError::Abort(()) => {
                    StoreError::Sled(sled::Error::Unsupported("aborted".into()))
                }
            })?;
        Ok(())
    }

    /// Waits until everything written is on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

/// Where local state lives unless configured: `$TRADER_DATA_DIR`, else
/// `$XDG_DATA_HOME/trader`, else `~/.local/share/trader` (never relative to
/// the working directory).
pub fn default_data_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(dir) = std::env::var_os("TRADER_DATA_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(xdg).join("trader");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".local/share/trader")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_with_its_sequence() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Snapshot::open(dir.path()).unwrap();
            assert_eq!(s.sequence().unwrap(), 0);
            assert!(s.load::<u32>().unwrap().is_empty());
            s.save(7, [("a", &1u32), ("b", &2u32)]).unwrap();
            s.save(9, [("a", &3u32)]).unwrap();
            s.flush().unwrap();
        }
        let s = Snapshot::open(dir.path()).unwrap();
        assert_eq!(s.sequence().unwrap(), 9);
        assert_eq!(
            s.load::<u32>().unwrap(),
            vec![("a".to_string(), 3), ("b".to_string(), 2)]
        );
    }

    #[test]
    fn a_save_without_entries_moves_only_the_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let s = Snapshot::open(dir.path()).unwrap();
        s.save(3, [("k", &"v".to_string())]).unwrap();
        s.save::<String>(4, []).unwrap();
        assert_eq!(s.sequence().unwrap(), 4);
        assert_eq!(s.load::<String>().unwrap(), vec![("k".into(), "v".into())]);
    }

    #[test]
    fn structured_values_round_trip() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Ledger {
            cash: String,
            qty: Vec<i64>,
        }
        let dir = tempfile::tempdir().unwrap();
        let value = Ledger {
            cash: "100.25".into(),
            qty: vec![-3, 7],
        };
        {
            let s = Snapshot::open(dir.path()).unwrap();
            s.save(u64::MAX, [("acc-1", &value)]).unwrap();
            s.flush().unwrap();
        }
        let s = Snapshot::open(dir.path()).unwrap();
        assert_eq!(s.sequence().unwrap(), u64::MAX);
        assert_eq!(s.load::<Ledger>().unwrap(), vec![("acc-1".into(), value)]);
    }

    #[test]
    fn an_entry_of_another_shape_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let s = Snapshot::open(dir.path()).unwrap();
        s.save(1, [("acc", &"text".to_string())]).unwrap();
        match s.load::<u32>() {
            Err(StoreError::Codec { key, .. }) => assert_eq!(key, "acc"),
            other => panic!("expected a codec error, got {other:?}"),
        }
    }

    #[test]
    fn a_second_open_of_the_same_directory_is_refused() {
        // Two nodes must not share a snapshot: sled locks its directory.
        let dir = tempfile::tempdir().unwrap();
        let _first = Snapshot::open(dir.path()).unwrap();
        assert!(matches!(
            Snapshot::open(dir.path()),
            Err(StoreError::Sled(_))
        ));
    }
}
