//! Ids. Every message carries its own id and the correlation id of the work that
//! caused it (the bar that started a trade, the request a user sent).

/// A new unique id (22 characters, URL- and subject-safe).
pub fn new_id() -> String {
    nuid::next().to_string()
}

/// Correlation id of a new unit of work.
pub fn new_correlation_id() -> String {
    new_id()
}
