//! Open files against the connection cap: every connection is a socket, and a stream
//! holds an open video file too, so a cap above the process's open-file limit turns a
//! crowd into accept errors (`EMFILE`) instead of a queue in the listen backlog.

/// Descriptors kept for everything else: SQLite and its WAL, the log, the listener, the
/// files of uploads in progress.
const RESERVED: u64 = 64;

/// Raises the soft open-file limit as far as the hard limit allows, then returns
/// `wanted` capped so that each connection can hold two descriptors (its socket and a
/// video file). Says so once when it had to cap.
pub fn connections_within_open_files(wanted: usize) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(cause = %e, "could not read or raise the open-file limit");
            return wanted;
        }
    };
    let fits = usize::try_from(limit.saturating_sub(RESERVED) / 2).unwrap_or(usize::MAX);
    if wanted > fits {
        tracing::warn!(
            open_file_limit = limit,
            max_connections = fits,
            "the open-file limit caps connections below REEL_MAX_CONNECTIONS={wanted}; \
             raise the hard limit (ulimit -Hn, LimitNOFILE=) to serve more"
        );
        return fits.max(1);
    }
    wanted
}
