//! Request and response types of every endpoint: the contract of `subjects.md`
//! in code. Services and clients both use these, so no service imports another.

pub mod analytics;
pub mod backtest;
pub mod config;
pub mod gateway;
pub mod md;
pub mod monitor;
pub mod notify;
pub mod orchestrator;
pub mod orders;
pub mod portfolio;
pub mod regime;
pub mod risk;
pub mod sentiment;
pub mod strategy;
