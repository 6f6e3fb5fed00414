//! What one SDDC Manager answer may cost: [`AnswerLimits`] per endpoint kind, and the
//! allocation-free pre-scan that enforces them before anything is parsed.
//!
//! A JSON body's size does not bound the memory its parsed form takes: `{}` is 2 bytes and
//! becomes a whole default struct (hundreds of bytes), `"a"` becomes a 24-byte `String` plus a
//! heap block. So an answer is held to three limits, checked in this order:
//!
//! 1. its **body size** (checked while it arrives; the rest is not read),
//! 2. the number of **list elements** it carries (`elements` of a page, or a bare array),
//! 3. the number of **JSON values** in it at any depth (every array item and object member).
//!
//! 2 and 3 are counted by [`scan`] over the raw bytes, with a fixed-size stack and no
//! allocation, before serde builds anything. With all three bounded, what parsing can allocate
//! is bounded by `values × (largest model struct)` plus the body's own bytes; the figures
//! measured against hostile answers are in `docs/security.md`.
//!
//! A list followed over several pages is also held to [`AnswerLimits::max_pages`] and to
//! `max_elements` over all its pages together.

/// The limits one kind of answer is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerLimits {
    /// What the answer is, for error messages (`"a host list"`).
    pub kind: &'static str,
    /// Largest body read, in bytes.
    pub max_body: usize,
    /// Most list elements (over all pages of a list).
    pub max_elements: usize,
    /// Most JSON values in one answer, at any depth.
    pub max_values: usize,
    /// Most pages followed for one list (including the first).
    pub max_pages: u32,
}

impl AnswerLimits {
    /// `GET /v1/hosts`. A real host is about 1.2 KB and 45 values; 10,000 hosts (more than
    /// the largest VCF installations: 25 domains of a few hundred hosts) stay under both.
    pub const HOSTS: Self = Self {
        kind: "a host list",
        max_body: 32 << 20,
        max_elements: 10_000,
        max_values: 1_000_000,
        max_pages: 100,
    };
    /// `GET /v1/domains`, `/v1/clusters`, `/v1/sddc-managers`, `/v1/personalities`.
    pub const INVENTORY: Self = Self {
        kind: "an inventory list",
        max_body: 16 << 20,
        max_elements: 5_000,
        max_values: 500_000,
        max_pages: 20,
    };
    /// `GET /v1/releases`, future releases of a domain, target versions of the domains. VCF
    /// has had a few dozen releases; each carries a bill of materials of about ten entries.
    pub const RELEASES: Self = Self {
        kind: "a release list",
        max_body: 8 << 20,
        max_elements: 1_000,
        max_values: 200_000,
        max_pages: 20,
    };
    /// `GET /v1/upgradables/domains/{id}` (and `/clusters`): a handful of bundles per domain.
    pub const UPGRADABLES: Self = Self {
        kind: "an upgradable list",
        max_body: 4 << 20,
        max_elements: 1_000,
        max_values: 100_000,
        max_pages: 20,
    };
    /// `GET /v1/bundles`, `/v1/upgrades`, `/v1/tasks` (100 per page): lists that grow with
    /// the installation's age.
    pub const HISTORY: Self = Self {
        kind: "a bundle, upgrade or task list",
        max_body: 16 << 20,
        max_elements: 10_000,
        max_values: 1_000_000,
        max_pages: 100,
    };
    /// Any single object: a domain, a task, an upgrade, a validation, a check-set run (a
    /// bare-array answer counts its items as elements).
    pub const OBJECT: Self = Self {
        kind: "a single answer",
        max_body: 16 << 20,
        max_elements: 10_000,
        max_values: 500_000,
        max_pages: 1,
    };
}

/// Deepest nesting [`scan`] accepts (serde_json itself stops at 128).
pub const MAX_DEPTH: usize = 64;

/// What [`scan`] found over a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exceeded {
    /// More list elements than `max_elements`.
    Elements(usize),
    /// More JSON values than `max_values`.
    Values(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    Depth,
}

impl Exceeded {
    /// One line naming what was exceeded and the limit, e.g. `more than 1000 elements (the
    /// limit for an upgradable list)`.
    pub fn describe(&self, limits: &AnswerLimits) -> String {
        match self {
            Self::Elements(n) => format!("more than {n} elements (the limit for {})", limits.kind),
            Self::Values(n) => format!("more than {n} JSON values (the limit for {})", limits.kind),
            Self::Depth => format!("nested deeper than {MAX_DEPTH} levels"),
        }
    }
}

/// Counts, without allocating, the list elements and JSON values of `body`, stopping at the
/// first limit passed. List elements are the items of a top-level array or of an array that is
/// a member of the top-level object (`elements`). Malformed JSON is not judged here: serde
/// reports it, with its position, when the body is parsed.
///
/// # Errors
/// What was exceeded.
pub fn scan(body: &[u8], max_elements: usize, max_values: usize) -> Result<(), Exceeded> {
    // Per open container: is it an array, and has it seen an item yet.
    let mut stack = [(false, false); MAX_DEPTH];
    let mut depth = 0usize;
    let (mut elements, mut values) = (0usize, 0usize);
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        if b.is_ascii_whitespace() {
            continue;
        }
        // A value (or an object key) starts here when the container is waiting for one.
        if depth > 0 && !matches!(b, b']' | b'}' | b',' | b':') {
            let (is_array, seen) = &mut stack[depth - 1];
            if !*seen {
                *seen = true;
                // Object members are counted at their key, array items at their value.
                values += 1;
                if *is_array && depth <= 2 && (depth == 1 || !stack[0].0) {
                    elements += 1;
                }
                if values > max_values {
                    return Err(Exceeded::Values(max_values));
                }
                if elements > max_elements {
                    return Err(Exceeded::Elements(max_elements));
                }
            }
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                if depth == MAX_DEPTH {
                    return Err(Exceeded::Depth);
                }
                stack[depth] = (b == b'[', false);
                depth += 1;
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            // An object's next member starts at its key, an array's next item at its value:
            // either way the next token is counted.
            b',' if depth > 0 => stack[depth - 1].1 = false,
            // The member was counted at its key: its value is not a new one.
            b':' if depth > 0 => stack[depth - 1].1 = true,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(json: &str) -> (usize, usize) {
        // The smallest limits that pass.
        let mut e = 0;
        while scan(json.as_bytes(), e, usize::MAX).is_err() {
            e += 1;
        }
        let mut v = 0;
        while scan(json.as_bytes(), usize::MAX, v).is_err() {
            v += 1;
        }
        (e, v)
    }

    #[test]
    fn counts_elements_and_values() {
        assert_eq!(counts(r#"{}"#), (0, 0));
        assert_eq!(counts(r#"{"elements":[]}"#), (0, 1));
        assert_eq!(counts(r#"{"elements":[{},{},{}]}"#), (3, 4));
        assert_eq!(
            counts(
                r#"{"elements":[{"id":"a","bom":[{"n":1},{"n":2}]}],"pageMetadata":{"totalPages":1}}"#
            ),
            (1, 10)
        );
        // A bare array (check-sets): its items are the elements.
        assert_eq!(counts(r#"[{"a":[1,2,3]},{}]"#), (2, 6));
        // Strings with brackets, commas, colons and escaped quotes are one value.
        assert_eq!(counts(r#"{"elements":["[,{:}]\"", "x"]}"#), (2, 3));
        // Nested arrays are not elements.
        assert_eq!(counts(r#"{"elements":[[1,2],[3]]}"#), (2, 6));
    }

    #[test]
    fn stops_at_the_first_limit_passed() {
        let flood = format!(r#"{{"elements":[{}{{}}]}}"#, "{},".repeat(5000));
        assert_eq!(
            scan(flood.as_bytes(), 1000, usize::MAX),
            Err(Exceeded::Elements(1000))
        );
        assert_eq!(
            scan(flood.as_bytes(), 10_000, 4000),
            Err(Exceeded::Values(4000))
        );
        assert_eq!(scan(flood.as_bytes(), 10_000, 10_000), Ok(()));
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(scan(deep.as_bytes(), 10, 1000), Err(Exceeded::Depth));
        let nested = format!(r#"{{"elements":[{{"bom":[{}1]}}]}}"#, "1,".repeat(300));
        assert_eq!(scan(nested.as_bytes(), 10, 200), Err(Exceeded::Values(200)));
    }

    #[test]
    fn messages_name_the_limit_and_the_kind() {
        let l = AnswerLimits::UPGRADABLES;
        assert_eq!(
            Exceeded::Elements(1000).describe(&l),
            "more than 1000 elements (the limit for an upgradable list)"
        );
    }
}
