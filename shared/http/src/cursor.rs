//! Opaque list cursors: the last item's sort key, signed so that a cursor the server did
//! not issue (or issued for another list) is refused with 400.

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reel_core::domain::{Limit, Page, Timestamp};
use reel_core::ports::{SortKey, StoreResult};
use reel_core::signing::Signer;
use std::future::Future;

const PURPOSE: &str = "list-cursor";

/// `scope` names the list (e.g. `videos:<author id>`), binding the cursor to it.
pub fn encode(signer: &Signer, scope: &str, key: &SortKey) -> String {
    let payload = format!("{}.{}", key.at.as_micros(), key.id);
    let sig = signer.sign(PURPOSE, format!("{scope}\n{payload}").as_bytes());
    format!("{}.{sig}", URL_SAFE_NO_PAD.encode(payload))
}

pub fn decode(signer: &Signer, scope: &str, raw: &str) -> Result<SortKey, ApiError> {
    let invalid = || ApiError::bad_request("cursor is not valid for this list");
    let (payload_b64, sig) = raw.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .ok()
        .and_then(|p| String::from_utf8(p).ok())
        .ok_or_else(invalid)?;
    if !signer.verify(PURPOSE, format!("{scope}\n{payload}").as_bytes(), sig) {
        return Err(invalid());
    }
    let (micros, id) = payload.split_once('.').ok_or_else(invalid)?;
    Ok(SortKey {
        at: Timestamp::from_micros(micros.parse().map_err(|_| invalid())?),
        id: id.to_owned(),
    })
}

/// One page of the list `scope`: the request's `limit` and `cursor` parsed (400 when
/// either is bad), the items `fetch` returns after that cursor, and the cursor of the
/// page after them (`None` on the last page).
pub async fn one_page<T, Fetch, Fetched>(
    signer: &Signer,
    scope: &str,
    limit: Option<&str>,
    cursor: Option<&str>,
    fetch: Fetch,
) -> Result<(Vec<T>, Option<String>), ApiError>
where
    Fetch: FnOnce(Option<SortKey>, Limit) -> Fetched,
    Fetched: Future<Output = StoreResult<Page<T, SortKey>>>,
{
    let (limit, after) = page_request(signer, scope, limit, cursor)?;
    let page = fetch(after, limit).await?;
    let next = page.next.map(|key| encode(signer, scope, &key));
    Ok((page.items, next))
}

/// Parses the `limit` and `cursor` of a list request for the list `scope`.
fn page_request(
    signer: &Signer,
    scope: &str,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<(Limit, Option<SortKey>), ApiError> {
    let limit = limit.map(Limit::parse).transpose()?.unwrap_or_default();
    let after = cursor
        .filter(|c| !c.is_empty())
        .map(|c| decode(signer, scope, c))
        .transpose()?;
    Ok((limit, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_forgeries() {
        let s = Signer::new([3; 32]);
        let key = SortKey {
            at: Timestamp::from_micros(42),
            id: "abc".into(),
        };
        let c = encode(&s, "videos:1", &key);
        assert_eq!(decode(&s, "videos:1", &c).unwrap(), key);
        assert!(decode(&s, "videos:2", &c).is_err(), "bound to its list");
        for bad in ["", "x", "x.y", &c.replace('.', "")] {
            assert!(decode(&s, "videos:1", bad).is_err(), "{bad}");
        }
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("43.abc"),
            c.split_once('.').unwrap().1
        );
        assert!(decode(&s, "videos:1", &forged).is_err());
    }
}
