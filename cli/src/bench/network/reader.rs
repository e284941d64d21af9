//! A reader thread: takes buffers off its channel queue, deserializes the records of each
//! channel in order, and drops the buffer — which recycles it to its source.

use std::sync::mpsc::Receiver;

use super::record::{ChannelDeserializer, RecordCheck, RecordLayout};
use super::source::RecordBuffer;
use super::stats::ReaderStats;
use super::writer::Delivery;

/// Reads until every writer has hung up.
///
/// `channels` is the channels per writer and `total_channels` all channels; channel `g`
/// carries the values `g mod channels`, advancing by `channels`.
pub fn read<B: RecordBuffer>(
    queue: Receiver<Delivery<B>>,
    channels: usize,
    total_channels: usize,
    layout: RecordLayout,
) -> ReaderStats {
    let mut streams: Vec<ChannelDeserializer> = (0..total_channels)
        .map(|g| ChannelDeserializer::new((g % channels) as u64, channels as u64))
        .collect();
    let mut check = RecordCheck::default();
    let mut buffers = 0;
    for delivery in queue {
        streams[delivery.channel as usize].consume(delivery.buffer.bytes(), &layout, &mut check);
        buffers += 1;
        drop(delivery.buffer);
    }
    ReaderStats {
        check,
        buffers,
        incomplete_channels: streams.iter().filter(|s| !s.at_record_boundary()).count() as u64,
    }
}
