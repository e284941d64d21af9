//! Records as Flink's record writers frame them: a 4-byte big-endian length, then the record.
//! A record may span buffers. The record's first (up to 8) bytes carry the writer's sequence
//! number, big-endian, like a `LongValue`; the rest is filler.
//!
//! Writer `w` sends its `k`-th record (value `k`) to channel `k mod channels`, so channel `c`
//! must deliver the values `c, c + channels, c + 2·channels, …` in order: the reader checks
//! exactly that, and a checksum of every value, which catches lost, duplicated, reordered or
//! overwritten data (e.g. a buffer recycled while still being read).

/// Bytes of the length header before every record.
pub const LENGTH_HEADER: usize = 4;

/// The largest record size accepted (a writer keeps one serialized record in memory).
pub const MAX_RECORD_SIZE: usize = 64 << 20;

/// The framing of fixed-size records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordLayout {
    /// Bytes of one record (without the header).
    pub record_size: usize,
    /// Bytes of the record that carry the value: `min(record_size, 8)`.
    value_len: usize,
}

impl RecordLayout {
    /// Records of `record_size` bytes, `1 ..= MAX_RECORD_SIZE`.
    ///
    /// # Panics
    /// If `record_size` is out of that range (the settings check it first).
    pub fn new(record_size: usize) -> RecordLayout {
        assert!((1..=MAX_RECORD_SIZE).contains(&record_size));
        RecordLayout {
            record_size,
            value_len: record_size.min(8),
        }
    }

    /// Bytes of one framed record: header + record.
    pub fn framed_size(&self) -> usize {
        LENGTH_HEADER + self.record_size
    }

    /// The bits of a value a record can carry.
    #[inline]
    pub fn mask(&self) -> u64 {
        if self.value_len == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * self.value_len)) - 1
        }
    }
}

/// Serializes records into one reusable framed record.
#[derive(Debug)]
pub struct RecordSerializer {
    layout: RecordLayout,
    framed: Vec<u8>,
}

impl RecordSerializer {
    /// A serializer for `layout`.
    pub fn new(layout: RecordLayout) -> RecordSerializer {
        let mut framed = vec![0x5A; layout.framed_size()];
        let header = u32::try_from(layout.record_size).expect("record size fits the header");
        framed[..LENGTH_HEADER].copy_from_slice(&header.to_be_bytes());
        RecordSerializer { layout, framed }
    }

    /// The framed record carrying `value` (its low bytes when the record is shorter than 8).
    #[inline]
    pub fn serialize(&mut self, value: u64) -> &[u8] {
        let n = self.layout.value_len;
        self.framed[LENGTH_HEADER..LENGTH_HEADER + n]
            .copy_from_slice(&value.to_be_bytes()[8 - n..]);
        &self.framed
    }
}

/// What a reader found in the records it deserialized.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCheck {
    /// Records read.
    pub records: u64,
    /// Wrapping sum of their values.
    pub checksum: u64,
    /// Records whose value was not the next one expected on their channel.
    pub out_of_order: u64,
    /// Length headers that did not match the record size (the channel's stream is then
    /// unreadable and the rest of it is skipped).
    pub bad_headers: u64,
}

impl RecordCheck {
    /// Adds another reader's findings.
    pub fn merge(&mut self, other: &RecordCheck) {
        self.records += other.records;
        self.checksum = self.checksum.wrapping_add(other.checksum);
        self.out_of_order += other.out_of_order;
        self.bad_headers += other.bad_headers;
    }
}

/// Reassembles one channel's records across buffer boundaries.
#[derive(Clone, Debug)]
pub struct ChannelDeserializer {
    /// Bytes of the current record (header included) consumed so far.
    pos: usize,
    header: [u8; LENGTH_HEADER],
    value: u64,
    next_expected: u64,
    stride: u64,
    corrupt: bool,
}

impl ChannelDeserializer {
    /// A channel whose first value is `first` and whose values advance by `stride`.
    pub fn new(first: u64, stride: u64) -> ChannelDeserializer {
        ChannelDeserializer {
            pos: 0,
            header: [0; LENGTH_HEADER],
            value: 0,
            next_expected: first,
            stride,
            corrupt: false,
        }
    }

    /// Whether the channel ended between records.
    pub fn at_record_boundary(&self) -> bool {
        self.pos == 0 || self.corrupt
    }

    /// Deserializes the bytes of one buffer.
    pub fn consume(&mut self, data: &[u8], layout: &RecordLayout, check: &mut RecordCheck) {
        if self.corrupt {
            return;
        }
        let framed = layout.framed_size();
        let value_end = LENGTH_HEADER + layout.value_len;
        let mut i = 0;
        while i < data.len() {
            if self.pos == 0 && data.len() - i >= framed {
                // The whole record is in this buffer.
                let record = &data[i..i + framed];
                let header = [record[0], record[1], record[2], record[3]];
                let value = be_value(&record[LENGTH_HEADER..value_end]);
                if !self.complete(header, value, layout, check) {
                    return;
                }
                i += framed;
                continue;
            }
            // A record that started in an earlier buffer or ends in a later one.
            let take = (framed - self.pos).min(data.len() - i);
            if self.pos < value_end {
                let upto = (value_end - self.pos).min(take);
                for (k, &b) in data[i..i + upto].iter().enumerate() {
                    let p = self.pos + k;
                    if p < LENGTH_HEADER {
                        self.header[p] = b;
                    } else {
                        self.value = (self.value << 8) | u64::from(b);
                    }
                }
            }
            self.pos += take;
            i += take;
            if self.pos == framed {
                let (header, value) = (self.header, self.value);
                self.pos = 0;
                self.value = 0;
                if !self.complete(header, value, layout, check) {
                    return;
                }
            }
        }
    }

    /// Checks one whole record; `false` if the stream is corrupt from here on.
    #[inline]
    fn complete(
        &mut self,
        header: [u8; LENGTH_HEADER],
        value: u64,
        layout: &RecordLayout,
        check: &mut RecordCheck,
    ) -> bool {
        if u32::from_be_bytes(header) as usize != layout.record_size {
            check.bad_headers += 1;
            self.corrupt = true;
            return false;
        }
        check.records += 1;
        check.checksum = check.checksum.wrapping_add(value);
        if value != self.next_expected & layout.mask() {
            check.out_of_order += 1;
        }
        self.next_expected = self.next_expected.wrapping_add(self.stride);
        true
    }
}

#[inline]
fn be_value(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serializes `n` records of one channel (values first, first + stride, …) and feeds them
    /// to a deserializer in chunks of `chunk` bytes.
    fn round_trip(record_size: usize, n: u64, chunk: usize) -> (RecordCheck, bool) {
        let layout = RecordLayout::new(record_size);
        let mut ser = RecordSerializer::new(layout);
        let mut stream = Vec::new();
        for k in 0..n {
            stream.extend_from_slice(ser.serialize(3 + 7 * k));
        }
        let mut de = ChannelDeserializer::new(3, 7);
        let mut check = RecordCheck::default();
        for part in stream.chunks(chunk) {
            de.consume(part, &layout, &mut check);
        }
        (check, de.at_record_boundary())
    }

    #[test]
    fn records_survive_any_split() {
        for record_size in [1, 3, 8, 9, 100] {
            for chunk in [1, 2, 5, 12, 13, 4096] {
                let (check, boundary) = round_trip(record_size, 50, chunk);
                assert_eq!(check.records, 50, "size {record_size} chunk {chunk}");
                assert_eq!(check.out_of_order, 0, "size {record_size} chunk {chunk}");
                assert_eq!(check.bad_headers, 0);
                assert!(boundary);
                let mask = RecordLayout::new(record_size).mask();
                let sum = (0..50u64).fold(0u64, |s, k| s.wrapping_add((3 + 7 * k) & mask));
                assert_eq!(check.checksum, sum);
            }
        }
    }

    #[test]
    fn an_8_byte_record_is_a_long_value() {
        let mut ser = RecordSerializer::new(RecordLayout::new(8));
        assert_eq!(
            ser.serialize(0x0102_0304_0506_0708),
            &[0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]
        );
    }

    #[test]
    fn a_lost_record_is_out_of_order_and_a_cut_one_is_not_at_a_boundary() {
        let layout = RecordLayout::new(8);
        let mut ser = RecordSerializer::new(layout);
        let mut stream = Vec::new();
        for k in [0u64, 1, 3] {
            stream.extend_from_slice(ser.serialize(k));
        }
        let mut de = ChannelDeserializer::new(0, 1);
        let mut check = RecordCheck::default();
        de.consume(&stream[..stream.len() - 2], &layout, &mut check);
        assert_eq!(check.records, 2);
        assert!(!de.at_record_boundary());
        de.consume(&stream[stream.len() - 2..], &layout, &mut check);
        assert_eq!((check.records, check.out_of_order), (3, 1));
    }

    #[test]
    fn a_bad_header_stops_the_channel() {
        let layout = RecordLayout::new(8);
        let mut de = ChannelDeserializer::new(0, 1);
        let mut check = RecordCheck::default();
        de.consume(
            &[0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &layout,
            &mut check,
        );
        assert_eq!((check.records, check.bad_headers), (0, 1));
        de.consume(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0], &layout, &mut check);
        assert_eq!(check.records, 0);
    }
}
