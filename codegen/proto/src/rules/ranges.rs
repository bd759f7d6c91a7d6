//! Coverage of number ranges, for reserved and extension ranges.

/// Inclusive ranges of `old` that are not covered by the union of `new`.
pub fn missing(old: (i64, i64), new: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut covered: Vec<(i64, i64)> = new.to_vec();
    covered.sort_unstable();
    let mut gaps = Vec::new();
    let (mut cursor, end) = old;
    for (s, e) in covered {
        if cursor > end {
            break;
        }
        if e < cursor {
            continue;
        }
        if s > cursor {
            gaps.push((cursor, (s - 1).min(end)));
        }
        match e.checked_add(1) {
            Some(next) => cursor = cursor.max(next),
            // Covered up to the largest number there is.
            None => return gaps,
        }
    }
    if cursor <= end {
        gaps.push((cursor, end));
    }
    gaps
}

/// For each old inclusive range not fully covered by the new ones, a message
/// naming it and the pieces it lost. `what` names the kind of range.
pub fn lost(
    old: &[(i64, i64)],
    new: &[(i64, i64)],
    max: i64,
    what: &str,
    owner: &str,
) -> Vec<String> {
    old.iter()
        .filter_map(|&range| {
            let gaps = missing(range, new);
            if gaps.is_empty() {
                return None;
            }
            let gaps: Vec<String> = gaps.into_iter().map(|g| display(g, max)).collect();
            Some(format!(
                "{what} {} of {owner} lost {}",
                display(range, max),
                gaps.join(", ")
            ))
        })
        .collect()
}

/// Names in `old` that `new` no longer reserves.
pub fn lost_names(old: &[String], new: &[String], owner: &str) -> Vec<String> {
    old.iter()
        .filter(|name| !new.contains(name))
        .map(|name| format!("reserved name \"{name}\" of {owner} is no longer reserved"))
        .collect()
}

pub fn display(range: (i64, i64), max: i64) -> String {
    let end = if range.1 == max {
        "max".to_string()
    } else {
        range.1.to_string()
    };
    if range.0 == range.1 {
        format!("[{}]", range.0)
    } else {
        format!("[{},{end}]", range.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_uncovered_pieces() {
        assert_eq!(missing((5, 10), &[(6, 8)]), vec![(5, 5), (9, 10)]);
        assert_eq!(missing((5, 10), &[(1, 7), (8, 20)]), vec![]);
        assert_eq!(missing((5, 10), &[]), vec![(5, 10)]);
        assert_eq!(missing((-3, 3), &[(-10, -1)]), vec![(0, 3)]);
        assert_eq!(missing((1, i64::MAX), &[(1, i64::MAX)]), vec![]);
    }
}
