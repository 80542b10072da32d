//! Queue selection for ordered sends: a sharding key picks one queue of a topic, the same
//! queue every time while the topic's route is unchanged, and the same queue the Java
//! producer's `SelectMessageQueueByHash` picks, so producers in both languages that share
//! keys keep one order per key.

use crate::protocol::bodies::MessageQueue;

/// Java's `String.hashCode`: 31-based over UTF-16 code units, wrapping on overflow.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The queue of `key` among `queues`, ordered as the Java producer orders a topic's publish
/// queues (by broker name, then queue id). `None` when there is no queue.
pub fn select_by_hash(queues: &[MessageQueue], key: &str) -> Option<MessageQueue> {
    if queues.is_empty() {
        return None;
    }
    let mut sorted: Vec<&MessageQueue> = queues.iter().collect();
    sorted.sort_by(|a, b| (&a.broker_name, a.queue_id).cmp(&(&b.broker_name, b.queue_id)));
    // Java: `hashCode() % size`, made non-negative with `Math.abs`; the remainder's magnitude
    // is below `size`, so the absolute value cannot overflow.
    let n = i32::try_from(sorted.len()).unwrap_or(i32::MAX);
    let index = (java_string_hash(key) % n).unsigned_abs() as usize;
    Some(sorted[index].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(broker: &str, id: i32) -> MessageQueue {
        MessageQueue {
            topic: "T".into(),
            broker_name: broker.into(),
            queue_id: id,
        }
    }

    #[test]
    fn java_hash_codes() {
        // Values printed by Java's String.hashCode.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("order-42"), 1_234_255_197);
        // Overflowing and negative: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // A character outside the BMP counts as two UTF-16 units.
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn the_same_key_picks_the_same_queue_whatever_the_route_order() {
        let a = vec![queue("b", 1), queue("a", 0), queue("b", 0), queue("a", 1)];
        let mut b = a.clone();
        b.reverse();
        for key in ["k1", "k2", "order-42", "polygenelubricants", ""] {
            assert_eq!(select_by_hash(&a, key), select_by_hash(&b, key), "{key}");
        }
        // "hello" -> 99162322 % 4 = 2 -> the third of (a,0) (a,1) (b,0) (b,1).
        assert_eq!(select_by_hash(&a, "hello"), Some(queue("b", 0)));
        // i32::MIN % 4 == 0 -> the first.
        assert_eq!(
            select_by_hash(&a, "polygenelubricants"),
            Some(queue("a", 0))
        );
        assert_eq!(select_by_hash(&[], "k"), None);
    }
}
