//! Change detection between what was published and a new rendering.
//!
//! The hub remembers a fingerprint per published topic instead of the payload, so a large
//! inventory (thousands of hosts) costs a few bytes per topic between cycles, and only topics
//! are listed: payloads are moved out of the rendering when published, so a large first
//! announcement is never held twice.

use std::collections::{BTreeMap, HashMap};

/// A payload fingerprint.
pub fn fingerprint(payload: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // DefaultHasher::new() uses fixed keys: stable within the process, which is all we need.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    payload.hash(&mut h);
    h.finish()
}

/// The topics of `old` that `new` no longer renders (a vanished domain or host), sorted.
pub fn vanished_topics<'a>(
    old: &'a HashMap<String, u64>,
    new: &BTreeMap<String, u64>,
) -> Vec<&'a String> {
    let mut gone: Vec<&String> = old.keys().filter(|t| !new.contains_key(*t)).collect();
    gone.sort();
    gone
}

/// The topics of `new` whose fingerprint differs from `old` (all of them with `force`).
///
/// Cost is proportional to `new` alone, so rendering unit by unit stays linear in the inventory;
/// what vanished is found once per sync, not once per unit.
pub fn changed_topics(
    old: &HashMap<String, u64>,
    new: &BTreeMap<String, u64>,
    force: bool,
) -> Vec<String> {
    new.iter()
        .filter(|(t, p)| force || old.get(*t) != Some(*p))
        .map(|(t, _)| t.clone())
        .collect()
}

/// Puts every JSON attributes topic (`…/attributes`) before the states, keeping the order
/// otherwise: Home Assistant applies each message on its own, so a state published before its
/// attributes would show for a moment with the old attributes (`successfully_completed` with
/// the previous progress).
pub fn attributes_first(topics: &mut [String]) {
    topics.sort_by_key(|t| !t.ends_with("/attributes"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    fn fp(m: &BTreeMap<String, String>) -> HashMap<String, u64> {
        m.iter().map(|(t, p)| (t.clone(), fingerprint(p))).collect()
    }

    fn fpb(m: &BTreeMap<String, String>) -> BTreeMap<String, u64> {
        m.iter().map(|(t, p)| (t.clone(), fingerprint(p))).collect()
    }

    #[test]
    fn unchanged_publishes_nothing() {
        let new = fpb(&m(&[("a", "1"), ("b", "2")]));
        let old: HashMap<String, u64> = new.clone().into_iter().collect();
        assert!(changed_topics(&old, &new, false).is_empty());
        assert!(vanished_topics(&old, &new).is_empty());
    }

    #[test]
    fn only_changes_and_clears() {
        let old = fp(&m(&[("a", "1"), ("b", "2"), ("gone", "x")]));
        let new = fpb(&m(&[("a", "1"), ("b", "3"), ("c", "4")]));
        assert_eq!(
            changed_topics(&old, &new, false),
            vec!["b".to_owned(), "c".to_owned()]
        );
        assert_eq!(vanished_topics(&old, &new), vec![&"gone".to_owned()]);
    }

    #[test]
    fn attributes_go_before_their_state() {
        let mut topics: Vec<String> = [
            "d/status",
            "d/status/attributes",
            "d/upgrade/status",
            "d/upgrade/status/attributes",
            "h/attributes",
            "h/cpu_usage",
        ]
        .map(str::to_owned)
        .to_vec();
        attributes_first(&mut topics);
        assert_eq!(
            topics,
            [
                "d/status/attributes",
                "d/upgrade/status/attributes",
                "h/attributes",
                "d/status",
                "d/upgrade/status",
                "h/cpu_usage",
            ]
        );
    }

    #[test]
    fn force_republishes_everything() {
        let new = fpb(&m(&[("a", "1"), ("b", "2")]));
        let old: HashMap<String, u64> = new.clone().into_iter().collect();
        assert_eq!(changed_topics(&old, &new, true).len(), 2);
        assert!(vanished_topics(&old, &new).is_empty());
    }
}
