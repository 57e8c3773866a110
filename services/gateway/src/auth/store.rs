//! API keys and users in KV (`gateway-keys`, `gateway-users`), each mirrored
//! in memory by a watch; a key or user not in the mirror yet (created on
//! another instance a moment ago) is read from KV. Nothing lives only in one
//! instance: any gateway verifies any key, user or token.

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::jetstream::{self, kv};
use bus::api::gateway::{KeyCreated, KeyInfo, Role, UserInfo};
use bus::{subjects::buckets, BusError, ServiceError};
use futures::StreamExt;
use model::UnixNanos;
use parking_lot::RwLock;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::sync::watch;

/// A key as stored: its public part and the SHA-256 of the whole key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    #[serde(flatten)]
    pub info: KeyInfo,
    pub sha256: String,
}

/// A user as stored: the argon2 PHC string of the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(flatten)]
    pub info: UserInfo,
    pub password_hash: String,
}

/// Key of the JWT secret in `gateway-config`.
const JWT_SECRET: &str = "jwt-secret";

/// A KV bucket mirrored in memory.
pub struct Mirror<T> {
    kv: kv::Store,
    map: Arc<RwLock<HashMap<String, T>>>,
}

impl<T: Clone + DeserializeOwned + Serialize + Send + Sync + 'static> Mirror<T> {
    async fn open(
        js: &jetstream::Context,
        bucket: &str,
        description: &str,
        replicas: usize,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, BusError> {
        let kv = open_bucket(js, bucket, description, replicas).await?;
        let mirror = Mirror {
            kv,
            map: Arc::default(),
        };
        mirror.spawn_watch(bucket.to_string(), stop).await?;
        Ok(mirror)
    }

    async fn spawn_watch(
        &self,
        bucket: String,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), BusError> {
        let mut updates = self
            .kv
            .watch_all()
            .await
            .map_err(|e| BusError::jetstream(&format!("watch {bucket}"), e))?;
        let map = self.map.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    next = updates.next() => next,
                };
                match next {
                    Some(Ok(entry)) => match entry.operation {
                        kv::Operation::Put => match serde_json::from_slice::<T>(&entry.value) {
                            Ok(value) => {
                                map.write().insert(entry.key, value);
                            }
                            Err(e) => {
                                tracing::warn!(bucket, key = %entry.key, error = %e, "ignoring a value that does not parse")
                            }
                        },
                        kv::Operation::Delete | kv::Operation::Purge => {
                            map.write().remove(&entry.key);
                        }
                    },
                    Some(Err(e)) => tracing::warn!(bucket, error = %e, "watch error"),
                    None => {
                        tracing::warn!(bucket, "watch ended");
                        break;
                    }
                }
            }
        });
        Ok(())
    }

    /// From the mirror, else from KV.
    pub async fn get(&self, key: &str) -> Result<Option<T>, ServiceError> {
        if let Some(v) = self.map.read().get(key).cloned() {
            return Ok(Some(v));
        }
        let raw = self
            .kv
            .get(key)
            .await
            .map_err(|e| ServiceError::unavailable(format!("KV: {e}")))?;
        Ok(raw.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// Creates `key` (409 when it exists).
    async fn create(&self, key: &str, value: &T) -> Result<(), ServiceError> {
        let bytes = serde_json::to_vec(value).map_err(|e| ServiceError::internal(e.to_string()))?;
        match self.kv.create(key, bytes.into()).await {
            Ok(_) => {
                self.map.write().insert(key.to_string(), value.clone());
                Ok(())
            }
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Err(ServiceError::new(
                bus::ErrorKind::Conflict,
                format!("{key} already exists"),
            )),
            Err(e) => Err(ServiceError::unavailable(format!("KV: {e}"))),
        }
    }

    /// Deletes `key`; false when it was not there.
    async fn delete(&self, key: &str) -> Result<bool, ServiceError> {
        let existed = self.get(key).await?.is_some();
        if existed {
            self.kv
                .delete(key)
                .await
                .map_err(|e| ServiceError::unavailable(format!("KV: {e}")))?;
            self.map.write().remove(key);
        }
        Ok(existed)
    }

    /// Every value, read from KV (so a list right after a create elsewhere has it).
    async fn list(&self) -> Result<Vec<T>, ServiceError> {
        let unavailable = |e: String| ServiceError::unavailable(format!("KV: {e}"));
        let mut keys = self
            .kv
            .keys()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let mut out = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| unavailable(e.to_string()))?;
            if let Some(v) = self.get(&key).await? {
                out.push(v);
            }
        }
        Ok(out)
    }
}

async fn open_bucket(
    js: &jetstream::Context,
    bucket: &str,
    description: &str,
    replicas: usize,
) -> Result<kv::Store, BusError> {
    bus::jetstream::ensure_kv(
        js,
        kv::Config {
            bucket: bucket.to_string(),
            description: description.to_string(),
            history: 1,
            num_replicas: replicas,
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        },
    )
    .await
}

/// Keys, users and the token secret.
pub struct Store {
    pub keys: Mirror<KeyRecord>,
    pub users: Mirror<UserRecord>,
    pub jwt_key: ring::hmac::Key,
}

impl Store {
    pub async fn open(
        js: &jetstream::Context,
        replicas: usize,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, BusError> {
        let keys = Mirror::open(
            js,
            buckets::GATEWAY_KEYS,
            "gateway API keys (SHA-256 of the key, role, accounts)",
            replicas,
            stop.clone(),
        )
        .await?;
        let users = Mirror::open(
            js,
            buckets::GATEWAY_USERS,
            "gateway users (argon2 password hash, role, accounts)",
            replicas,
            stop,
        )
        .await?;
        let config = open_bucket(
            js,
            buckets::GATEWAY_CONFIG,
            "gateway settings shared by every instance",
            replicas,
        )
        .await?;
        let secret = jwt_secret(&config).await?;
        Ok(Store {
            keys,
            users,
            jwt_key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret),
        })
    }

    /// A new key (the secret part is random; only its SHA-256 is stored).
    pub async fn create_key(
        &self,
        role: Role,
        accounts: Vec<String>,
        name: Option<String>,
    ) -> Result<KeyCreated, ServiceError> {
        check_accounts(&accounts)?;
        let id = format!("k_{}", hex(&random::<8>()?));
        let secret = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            random::<32>()?,
        );
        let key = format!("{id}.{secret}");
        let info = KeyInfo {
            id: id.clone(),
            role,
            accounts,
            name,
            created_ts: UnixNanos::now(),
        };
        let record = KeyRecord {
            info: info.clone(),
            sha256: sha256_hex(&key),
        };
        self.keys.create(&id, &record).await?;
        Ok(KeyCreated { key, info })
    }

    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>, ServiceError> {
        let mut keys: Vec<KeyInfo> = self
            .keys
            .list()
            .await?
            .into_iter()
            .map(|r| r.info)
            .collect();
        keys.sort_by_key(|k| k.created_ts);
        Ok(keys)
    }

    pub async fn revoke_key(&self, id: &str) -> Result<bool, ServiceError> {
        valid_key_id(id)?;
        self.keys.delete(id).await
    }

    /// The key's record, if `key` is a key we issued (compared by SHA-256).
    pub async fn check_key(&self, key: &str) -> Result<Option<KeyInfo>, ServiceError> {
        let Some((id, _)) = key.split_once('.') else {
            return Ok(None);
        };
        if valid_key_id(id).is_err() {
            return Ok(None);
        }
        let Some(record) = self.keys.get(id).await? else {
            return Ok(None);
        };
        let matches = same_bytes(record.sha256.as_bytes(), sha256_hex(key).as_bytes());
        Ok(matches.then_some(record.info))
    }

    pub async fn create_user(
        &self,
        username: String,
        password: &str,
        role: Role,
        accounts: Vec<String>,
    ) -> Result<UserInfo, ServiceError> {
        bus::error::check_id("username", &username)?;
        check_accounts(&accounts)?;
        if password.chars().count() < 8 {
            return Err(ServiceError::bad_request("password: at least 8 characters"));
        }
        let password = password.to_string();
        let password_hash = tokio::task::spawn_blocking(move || super::password::hash(&password))
            .await
            .map_err(|e| ServiceError::internal(e.to_string()))??;
        let info = UserInfo {
            username: username.clone(),
            role,
            accounts,
            created_ts: UnixNanos::now(),
        };
        let record = UserRecord {
            info: info.clone(),
            password_hash,
        };
        self.users.create(&username, &record).await?;
        Ok(info)
    }

    pub async fn list_users(&self) -> Result<Vec<UserInfo>, ServiceError> {
        let mut users: Vec<UserInfo> = self
            .users
            .list()
            .await?
            .into_iter()
            .map(|r| r.info)
            .collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    pub async fn delete_user(&self, username: &str) -> Result<bool, ServiceError> {
        bus::error::check_id("username", username)?;
        self.users.delete(username).await
    }

    /// The user, if the password is theirs.
    pub async fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<UserInfo>, ServiceError> {
        if bus::error::check_id("username", username).is_err() {
            return Ok(None);
        }
        let Some(record) = self.users.get(username).await? else {
            return Ok(None);
        };
        let (hash, password) = (record.password_hash.clone(), password.to_string());
        let ok = tokio::task::spawn_blocking(move || super::password::verify(&hash, &password))
            .await
            .map_err(|e| ServiceError::internal(e.to_string()))?;
        Ok(ok.then_some(record.info))
    }
}

/// The shared secret: created once by whichever instance comes first.
async fn jwt_secret(config: &kv::Store) -> Result<Vec<u8>, BusError> {
    let fail = |e: String| BusError::jetstream("read the JWT secret", e);
    for _ in 0..2 {
        if let Some(secret) = config
            .get(JWT_SECRET)
            .await
            .map_err(|e| fail(e.to_string()))?
        {
            return Ok(secret.to_vec());
        }
        let fresh = random::<32>().map_err(|e| fail(e.message))?;
        match config.create(JWT_SECRET, fresh.to_vec().into()).await {
            Ok(_) => return Ok(fresh.to_vec()),
            // Another instance won the race: read its secret.
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => continue,
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    Err(fail("the secret vanished while being created".into()))
}

fn check_accounts(accounts: &[String]) -> Result<(), ServiceError> {
    accounts
        .iter()
        .try_for_each(|a| bus::error::check_id("account", a))
}

fn valid_key_id(id: &str) -> Result<(), ServiceError> {
    let ok =
        id.len() == 18 && id.starts_with("k_") && id[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(ServiceError::bad_request(format!(
            "invalid key id {id:?}: k_ and 16 hex digits"
        )))
    }
}

/// Equality that takes the same time wherever the first difference is.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn random<const N: usize>() -> Result<[u8; N], ServiceError> {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| ServiceError::internal("no randomness"))?;
    Ok(buf)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(text: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}
