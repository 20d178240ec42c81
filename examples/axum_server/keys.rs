//! Where the OpenID Provider's signing keys live: `--keys FILE`, a JSON Web Key Set with the
//! private keys, so that ID tokens signed before a restart still verify after it.
//!
//! grantor generates, rotates and publishes the keys itself ([`grantor::oidc::KeyRing`]); it
//! only needs a [`KeyStore`] to keep them in. Without `--keys`, the example uses its storage
//! backend, which is what a real deployment does: the SQL backends implement [`KeyStore`], so
//! the keys sit in the database (across restarts, shared by every instance of a fleet), while
//! `MemoryStorage` loses them at exit. A deployment that wants `private_jwk` encrypted at rest
//! wraps its store in one that encrypts [`KeyRecord::private_jwk`] in `save_key` (with a key
//! from its KMS) and decrypts it in `keys`.
//!
//! [`JwksFile`] is the third option, for a single server without a database: the file is
//!
//! ```json
//! {"keys": [{"kty": "RSA", "kid": "…", "alg": "RS256", "n": "…", "e": "…", "d": "…", …,
//!            "grantor_published_at": 1700000000, "grantor_signs_from": 1700000000}]}
//! ```
//!
//! — each key a private JWK with `kid` and `alg`, plus the times of its life as grantor's
//! rotation sets them (`grantor_published_at`, `grantor_signs_from`, and once it has a
//! successor `grantor_retires_at`, `grantor_removed_at`; Unix seconds). JOSE libraries ignore
//! members they do not know. A hand-made key without the times counts as published and signing
//! since the file was loaded. A missing file is created when grantor saves its first key; every
//! change rewrites it atomically (a temporary file renamed over it), readable by its owner only.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use grantor::storage::{KeyRecord, KeyStore};
use grantor::{BoxFuture, Error, Timestamp};
use serde_json::{Map, Value};

/// The JWK members that carry a key's times.
const PUBLISHED_AT: &str = "grantor_published_at";
const SIGNS_FROM: &str = "grantor_signs_from";
const RETIRES_AT: &str = "grantor_retires_at";
const REMOVED_AT: &str = "grantor_removed_at";

/// A [`KeyStore`] in a JWKS file: the keys are held in memory and the file is rewritten on
/// every change. For one server process; a fleet shares its keys through its database.
pub struct JwksFile {
    path: PathBuf,
    keys: Mutex<Vec<KeyRecord>>,
}

impl JwksFile {
    /// The keys of the file at `path`, or none when it does not exist yet (it is created with
    /// the first key saved). A key without grantor's times counts as published and signing
    /// since `now`.
    pub fn open(path: &Path, now: Timestamp) -> Result<Self, Box<dyn std::error::Error>> {
        let keys = match std::fs::read_to_string(path) {
            Ok(text) => parse(&text, now).map_err(|why| {
                format!(
                    "{} is not a JSON Web Key Set with private keys: {why}",
                    path.display()
                )
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(format!("cannot read {}: {error}", path.display()).into()),
        };
        Ok(Self {
            path: path.to_owned(),
            keys: Mutex::new(keys),
        })
    }

    /// Applies `change` to the keys: the file first, then the keys in memory, so that the two
    /// never disagree. Key changes are rare (at start-up and at each rotation), and the file
    /// is small: it is written on the calling thread, under the lock that orders the writes.
    fn update(&self, change: impl FnOnce(&mut Vec<KeyRecord>)) -> Result<(), Error> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = keys.clone();
        change(&mut next);
        let document = serde_json::json!({
            "keys": next.iter().map(to_jwk).collect::<Result<Vec<_>, _>>()?,
        });
        let text = serde_json::to_vec_pretty(&document).map_err(Error::storage)?;
        write_atomically(&self.path, &text).map_err(|error| {
            Error::storage(format!("cannot write {}: {error}", self.path.display()))
        })?;
        *keys = next;
        Ok(())
    }
}

impl KeyStore for JwksFile {
    fn keys(&self) -> BoxFuture<'_, Result<Vec<KeyRecord>, Error>> {
        let keys = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Box::pin(std::future::ready(Ok(keys)))
    }

    fn save_key(&self, key: KeyRecord) -> BoxFuture<'_, Result<(), Error>> {
        let saved = self.update(|keys| match keys.iter_mut().find(|k| k.kid == key.kid) {
            Some(existing) => *existing = key,
            None => keys.push(key),
        });
        Box::pin(std::future::ready(saved))
    }

    fn delete_key<'a>(&'a self, kid: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let deleted = self.update(|keys| keys.retain(|key| key.kid != kid));
        Box::pin(std::future::ready(deleted))
    }
}

impl fmt::Debug for JwksFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // C-KY-3: no key material, not even redacted records.
        let kids: Vec<String> = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|key| key.kid.clone())
            .collect();
        f.debug_struct("JwksFile")
            .field("path", &self.path)
            .field("kids", &kids)
            .finish()
    }
}

/// The keys of a JWKS document.
fn parse(text: &str, now: Timestamp) -> Result<Vec<KeyRecord>, String> {
    let document: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let keys = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no \"keys\" array")?;
    keys.iter()
        .enumerate()
        .map(|(i, jwk)| from_jwk(jwk, now).map_err(|why| format!("key {i}: {why}")))
        .collect()
}

/// A key record from a private JWK with (or without) grantor's times.
fn from_jwk(jwk: &Value, now: Timestamp) -> Result<KeyRecord, String> {
    let mut jwk = jwk.as_object().ok_or("not a JSON object")?.clone();
    let text = |jwk: &Map<String, Value>, name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(format!("no \"{name}\""))
    };
    let (kid, alg) = (text(&jwk, "kid")?, text(&jwk, "alg")?);
    let mut time = |name: &str| match jwk.remove(name) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .map(|secs| Some(Timestamp::from_secs(secs)))
            .ok_or(format!("\"{name}\" is not a number of seconds")),
    };
    let published_at = time(PUBLISHED_AT)?.unwrap_or(now);
    let signs_from = time(SIGNS_FROM)?.unwrap_or(now);
    let retires_at = time(RETIRES_AT)?;
    let removed_at = time(REMOVED_AT)?;
    let private_jwk = Value::Object(jwk).to_string();
    let mut record = KeyRecord::new(kid, alg, private_jwk, published_at, signs_from);
    record.retires_at = retires_at;
    record.removed_at = removed_at;
    Ok(record)
}

/// A key record as a private JWK with its `kid`, `alg` and times.
fn to_jwk(record: &KeyRecord) -> Result<Value, Error> {
    let Ok(Value::Object(mut jwk)) = serde_json::from_str(&record.private_jwk) else {
        return Err(Error::storage("a signing key is not a JSON object"));
    };
    jwk.insert("kid".into(), record.kid.clone().into());
    jwk.insert("alg".into(), record.alg.clone().into());
    let times = [
        (PUBLISHED_AT, Some(record.published_at)),
        (SIGNS_FROM, Some(record.signs_from)),
        (RETIRES_AT, record.retires_at),
        (REMOVED_AT, record.removed_at),
    ];
    for (name, at) in times {
        if let Some(at) = at {
            jwk.insert(name.into(), at.as_secs().into());
        }
    }
    Ok(Value::Object(jwk))
}

/// Replaces the file at `path` with `bytes` in one step: written to a temporary file beside
/// it (mode 0600 on Unix: private keys), flushed to disk, then renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the key file path names no file"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(".tmp");
    let temporary = path.with_file_name(temporary_name);
    // A leftover from a crash may have other permissions: start afresh.
    match std::fs::remove_file(&temporary) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}
