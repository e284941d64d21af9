//! `membudget bench network`: network-buffer throughput through the public bufferpool API,
//! beside the same pipeline over a `Mutex<VecDeque>` pool and a `Vec<u8>` per buffer.

mod control;
mod grid;
mod local_pool_source;
mod mutex_pool_source;
mod partition_pool;
mod pipeline;
mod plot;
mod reader;
mod record;
mod report;
mod result;
mod runner;
mod settings;
mod shuffle_options;
mod source;
mod stats;
mod vec_source;
mod writer;

pub use runner::run;
