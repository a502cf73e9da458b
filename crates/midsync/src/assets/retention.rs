//! Retention (issue 18 point 3): stored assets whose lifetime ended (`assets.retention`, or
//! the account's own) have their blob deleted and are marked expired; the API then answers
//! `410 Gone`. Replicas may sweep at once: deleting a deleted object is not an error and an
//! asset is marked expired once.

use crate::AppState;
use genmux_core::{Error, ErrorKind, Result};

/// Assets handled per pass.
const SWEEP_BATCH: u32 = 256;

/// One pass: deletes the blobs of up to `SWEEP_BATCH` (256) expired assets and marks them
/// expired. Returns how many were expired by this pass.
pub async fn sweep(state: &AppState) -> Result<usize> {
    let Some(blobs) = state.blobs() else {
        return Ok(0);
    };
    let store = state.store();
    let due = store
        .assets
        .expired(state.clock().now(), SWEEP_BATCH)
        .await?;
    let mut n = 0;
    for asset in due {
        let Some(blob) = &asset.blob else {
            continue;
        };
        let key = object_store::path::Path::parse(&blob.blob_key).map_err(|e| {
            Error::internal(format!(
                "stored blob key `{}` of {}: {e}",
                blob.blob_key, asset.id
            ))
        })?;
        match blobs.store().delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::ProviderUnavailable,
                    format!(
                        "retention sweep: deleting `{}` from {}: {e}",
                        blob.blob_key,
                        blobs.location()
                    ),
                ))
            }
        }
        if store.assets.mark_expired(&asset.id).await? {
            n += 1;
            tracing::info!(asset = %asset.id, task = %asset.task_id, account = %asset.account_id,
                bytes = blob.size_bytes, "asset expired: blob deleted");
        }
    }
    Ok(n)
}
