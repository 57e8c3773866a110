//! The `gateway` micro service: HTTP in front of the platform.
//!
//! - [`routes`]: the one route table (method, path, subject, role, account scope, types).
//! - [`assets`]: the dashboard's files, embedded.
//! - [`ws`]: the WebSocket `/ws` (channels, filters, bounded per-client queues).

pub mod assets;
pub mod routes;
pub mod ws;
