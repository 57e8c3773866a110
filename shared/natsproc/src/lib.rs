//! Running nats-server processes: finding the binary, starting a server on
//! chosen or free ports with its own store (killed with its parent), and the
//! config text of hub and leaf servers. Used by `trader run` for its embedded
//! server and by `testkit` for the tests' private servers, so both start
//! servers the same way (and the product does not ship the test kit).
//!
//! - [`server`]: [`NatsServer`], [`ServerOptions`], [`server::nats_server_bin`].
//! - [`conf`]: [`conf::HubConf`], [`conf::LeafConf`].

pub mod conf;
pub mod server;

pub use server::{NatsServer, ServerError, ServerOptions};
