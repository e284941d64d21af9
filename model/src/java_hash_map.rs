//! The iteration order of a Java `HashMap<String, _>`, which Flink's dynamic-config strings
//! (`ConfigurationUtils.assembleDynamicConfigsStr` over a `HashMap`) are printed in.
//!
//! A `HashMap` starts with 16 buckets and doubles when its size exceeds 3/4 of them. A key's
//! bucket is `(h ^ (h >>> 16)) & (buckets - 1)` with `h = String.hashCode()`. Iteration walks
//! the buckets in order and each bucket's list in insertion order (a resize splits every list
//! preserving order). Lists become trees only at 8 keys in one bucket, which the few keys
//! printed here never reach (asserted).

/// Java's `String.hashCode()`: `s[0]·31^(n−1) + … + s[n−1]` over UTF-16 code units, wrapping.
pub(crate) fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// `entries` (in insertion order, keys distinct) in the order a Java `HashMap` built by
/// inserting them would iterate.
pub(crate) fn java_hash_map_order<V>(entries: Vec<(&str, V)>) -> Vec<(&str, V)> {
    const TREEIFY_THRESHOLD: usize = 8;
    let mut buckets = 16usize;
    for size in 1..=entries.len() {
        if size > buckets / 4 * 3 {
            buckets *= 2;
        }
    }
    let spread = |key: &str| {
        let h = java_string_hash(key) as u32;
        ((h ^ (h >> 16)) as usize) & (buckets - 1)
    };
    let mut indexed: Vec<(usize, (&str, V))> =
        entries.into_iter().map(|e| (spread(e.0), e)).collect();
    // A stable sort keeps insertion order within a bucket.
    indexed.sort_by_key(|(bucket, _)| *bucket);
    debug_assert!(
        indexed
            .chunk_by(|a, b| a.0 == b.0)
            .all(|chunk| chunk.len() < TREEIFY_THRESHOLD),
        "a bucket would become a tree"
    );
    indexed.into_iter().map(|(_, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_matches_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // "taskmanager.cpu.cores".hashCode() in Java.
        assert_eq!(java_string_hash("hello"), 99162322);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn order_of_flinks_taskmanager_dynamic_configs() {
        // The insertion order of TaskExecutorProcessUtils.generateDynamicConfigsStr and the
        // order BashJavaUtils prints (Flink 1.20.3 and 2.1.1).
        let inserted = [
            "taskmanager.cpu.cores",
            "taskmanager.memory.framework.heap.size",
            "taskmanager.memory.framework.off-heap.size",
            "taskmanager.memory.task.heap.size",
            "taskmanager.memory.task.off-heap.size",
            "taskmanager.memory.network.min",
            "taskmanager.memory.network.max",
            "taskmanager.memory.managed.size",
            "taskmanager.memory.jvm-metaspace.size",
            "taskmanager.memory.jvm-overhead.min",
            "taskmanager.memory.jvm-overhead.max",
            "taskmanager.numberOfTaskSlots",
            "external-resources",
        ];
        let printed = [
            "taskmanager.memory.network.min",
            "taskmanager.cpu.cores",
            "taskmanager.memory.task.off-heap.size",
            "taskmanager.memory.jvm-metaspace.size",
            "external-resources",
            "taskmanager.memory.jvm-overhead.min",
            "taskmanager.memory.framework.off-heap.size",
            "taskmanager.memory.network.max",
            "taskmanager.memory.framework.heap.size",
            "taskmanager.memory.managed.size",
            "taskmanager.memory.task.heap.size",
            "taskmanager.numberOfTaskSlots",
            "taskmanager.memory.jvm-overhead.max",
        ];
        let order: Vec<&str> = java_hash_map_order(inserted.iter().map(|k| (*k, ())).collect())
            .into_iter()
            .map(|(k, ())| k)
            .collect();
        assert_eq!(order, printed);
    }
}
