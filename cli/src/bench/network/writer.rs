//! A record writer thread: serializes records round-robin into one buffer per channel, hands
//! a buffer to the channel's reader when it is full (or when a flush is due), and requests the
//! next from its source — waiting when the source is exhausted (backpressure).

use std::sync::mpsc::Sender;
use std::time::Instant;

use super::control::{Phase, RunControl};
use super::grid::FlushTimeout;
use super::record::{RecordLayout, RecordSerializer};
use super::source::{BufferSource, RecordBuffer};
use super::stats::WriterStats;
use crate::bench::BenchError;

/// A buffer on its way to a reader, with the global index of its channel
/// (`writer × channels + subpartition`).
#[derive(Debug)]
pub struct Delivery<B> {
    /// The channel.
    pub channel: u32,
    /// Its data.
    pub buffer: B,
}

/// One writer's fixed inputs.
#[derive(Clone, Copy, Debug)]
pub struct WriterSetup {
    /// This writer's index.
    pub index: usize,
    /// Its channels (subpartitions).
    pub channels: usize,
    /// Record framing.
    pub layout: RecordLayout,
    /// When partial buffers are handed over.
    pub flush: FlushTimeout,
}

/// The writer's state between records.
struct Writer<'s, 'c, S: BufferSource + 's> {
    source: &'s S,
    control: &'c RunControl,
    setup: WriterSetup,
    current: Vec<Option<S::Buffer<'s>>>,
    outputs: Vec<Sender<Delivery<S::Buffer<'s>>>>,
    stats: WriterStats,
    measuring: bool,
}

/// Writes records until `control` says stop, then hands over every partial buffer.
///
/// # Errors
/// The source failed, or a reader is gone.
pub fn write<'s, S: BufferSource>(
    source: &'s S,
    setup: WriterSetup,
    control: &RunControl,
    outputs: Vec<Sender<Delivery<S::Buffer<'s>>>>,
) -> Result<WriterStats, BenchError> {
    /// Tells the coordinator the writer returned, however it returns.
    struct Finished<'c>(&'c RunControl, usize);
    impl Drop for Finished<'_> {
        fn drop(&mut self) {
            self.0.finish(self.1);
        }
    }
    let _finished = Finished(control, setup.index);
    let mut w = Writer {
        source,
        control,
        setup,
        current: (0..setup.channels).map(|_| None).collect(),
        outputs,
        stats: WriterStats::new(),
        measuring: false,
    };
    let mut serializer = RecordSerializer::new(setup.layout);
    let mask = setup.layout.mask();
    let mut channel = 0;
    let mut value = 0u64;
    loop {
        match control.phase() {
            Phase::WarmUp => {}
            Phase::Measure => w.measuring = true,
            Phase::Stop => break,
        }
        w.write_record(channel, serializer.serialize(value))?;
        w.stats.records += 1;
        w.stats.checksum = w.stats.checksum.wrapping_add(value & mask);
        if w.measuring {
            w.stats.window.records += 1;
        }
        match setup.flush {
            FlushTimeout::AfterEveryRecord => w.hand_over(channel)?,
            FlushTimeout::Every(_) => {
                if control.take_flush(setup.index) {
                    w.flush_all()?;
                }
            }
        }
        value += 1;
        channel += 1;
        if channel == setup.channels {
            channel = 0;
        }
    }
    w.flush_all()?;
    Ok(w.stats)
}

impl<'s, S: BufferSource> Writer<'s, '_, S> {
    /// Appends one framed record to `channel`'s buffers, spanning as many as it needs.
    #[inline]
    fn write_record(&mut self, channel: usize, record: &[u8]) -> Result<(), BenchError> {
        let mut written = 0;
        while written < record.len() {
            let buffer = match &mut self.current[channel] {
                Some(b) => b,
                slot @ None => {
                    let b = request(self.source, channel, self.measuring, &mut self.stats)?;
                    self.control
                        .beat(self.setup.index, self.stats.buffers_requested);
                    slot.insert(b)
                }
            };
            written += buffer.append(&record[written..]);
            if buffer.is_full() {
                self.hand_over(channel)?;
            }
        }
        Ok(())
    }

    /// Sends `channel`'s current buffer, if it holds anything, to its reader.
    #[inline]
    fn hand_over(&mut self, channel: usize) -> Result<(), BenchError> {
        let Some(buffer) = self.current[channel].take() else {
            return Ok(());
        };
        if buffer.is_empty() {
            return Ok(());
        }
        if self.measuring {
            self.stats.window.buffers += 1;
            self.stats.window.bytes += buffer.bytes().len() as u64;
        }
        self.stats.buffers_sent += 1;
        // Checked when the settings were made: writers × channels fits a u32.
        let global = (self.setup.index * self.setup.channels + channel) as u32;
        let reader = global as usize % self.outputs.len();
        self.outputs[reader]
            .send(Delivery {
                channel: global,
                buffer,
            })
            .map_err(|_| BenchError::Failed("a reader thread stopped early".to_owned()))
    }

    /// Hands over every partially filled buffer (Flink's `flushAll`).
    fn flush_all(&mut self) -> Result<(), BenchError> {
        for channel in 0..self.setup.channels {
            self.hand_over(channel)?;
        }
        Ok(())
    }
}

/// Requests a buffer, waiting if none is free; times request → buffer in hand.
#[inline]
fn request<'s, S: BufferSource>(
    source: &'s S,
    subpartition: usize,
    measuring: bool,
    stats: &mut WriterStats,
) -> Result<S::Buffer<'s>, BenchError> {
    let start = Instant::now();
    let (buffer, waited) = match source.try_request(subpartition)? {
        Some(b) => (b, false),
        None => (source.request_blocking(subpartition)?, true),
    };
    stats.buffers_requested += 1;
    if measuring {
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        stats.window.latency.saturating_record(ns);
        if waited {
            stats.window.backpressured_ns += ns;
        }
    }
    Ok(buffer)
}
