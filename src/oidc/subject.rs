//! Subject identifiers (`sub`, OpenID Connect Core §8): public or pairwise.
//!
//! A **public** subject is the owner's id itself: stable, never reassigned, the same for every
//! client. A client registered with a sector identifier gets **pairwise** subjects instead:
//! a keyed hash of the sector and the owner, the same for the clients of one sector and
//! unlinkable across sectors. The key (salt) is the provider's secret; changing it changes
//! every pairwise subject.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::authenticator::OwnerId;
use crate::client::Client;
use crate::error::Error;

/// The longest subject OpenID Connect allows.
const MAX_SUBJECT: usize = 255;

/// The subject of `owner` for `client`: public, or pairwise for its sector with `salt`.
pub(crate) fn of(owner: &OwnerId, client: &Client, salt: Option<&[u8]>) -> Result<String, Error> {
    match client.sector_identifier() {
        None => public(owner),
        Some(sector) => {
            let salt = salt.ok_or_else(|| {
                Error::config(
                    "a client with a sector identifier needs the provider's pairwise salt",
                )
            })?;
            Ok(pairwise(owner, sector, salt))
        }
    }
}

/// The owner's id, if it is a valid subject: 1 to 255 printable ASCII characters.
fn public(owner: &OwnerId) -> Result<String, Error> {
    let id = owner.as_str();
    if id.is_empty() || id.len() > MAX_SUBJECT || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::usage(
            "an owner id used as an OpenID subject must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(id.to_owned())
}

/// SHA-256 over the sector, the owner and the salt, each length-prefixed so that no two
/// inputs collide, base64url: 43 characters.
fn pairwise(owner: &OwnerId, sector: &str, salt: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [sector.as_bytes(), owner.as_str().as_bytes(), salt] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(sector: Option<&str>) -> Client {
        let builder = Client::public("c").redirect_uri("https://c.example/cb");
        match sector {
            Some(sector) => builder.sector_identifier(sector),
            None => builder,
        }
        .build()
        .unwrap()
    }

    #[test]
    fn public_subjects_are_the_owner_id_and_pairwise_ones_depend_on_the_sector() {
        let alice = OwnerId::new("alice");
        assert_eq!(of(&alice, &client(None), None).unwrap(), "alice");
        let salt = b"provider secret".as_slice();
        let a = of(&alice, &client(Some("https://a.example")), Some(salt)).unwrap();
        let b = of(&alice, &client(Some("https://b.example")), Some(salt)).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(
            a,
            of(&alice, &client(Some("https://a.example")), Some(salt)).unwrap()
        );
        assert!(of(&alice, &client(Some("https://a.example")), None).is_err());
        assert!(of(&OwnerId::new("with space"), &client(None), None).is_err());
        assert!(of(&OwnerId::new("x".repeat(256)), &client(None), None).is_err());
    }
}
