//! Many rows in few statements: multi-row `VALUES` lists, cut into chunks of a few fixed sizes
//! so that a commit of many events sends one statement per table and chunk instead of one per
//! row (on PostgreSQL each statement is a round trip), while the connections' prepared
//! statement caches keep only a handful of texts per table.

/// The most rows one statement carries: with up to 10 columns a row this stays below 999
/// variables, SQLite's smallest limit (PostgreSQL allows 65,535).
pub(crate) const MAX_ROWS: usize = 64;

/// Splits `rows` into consecutive chunks whose lengths are powers of two up to [`MAX_ROWS`]
/// (100 rows are sent as 64, 32 and 4).
pub(crate) fn chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = rest.len().min(MAX_ROWS);
        // The largest power of two not above `len`.
        let take = 1 << (usize::BITS - 1 - len.leading_zeros());
        let (chunk, tail) = rest.split_at(take);
        rest = tail;
        Some(chunk)
    })
}

/// The `VALUES` list of `rows` rows of `columns` placeholders each, numbered from `first`:
/// `($1, $2), ($3, $4)`.
pub(crate) fn values(rows: usize, columns: usize, first: usize) -> String {
    let mut list = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            list.push_str(", ");
        }
        list.push('(');
        for column in 0..columns {
            if column > 0 {
                list.push_str(", ");
            }
            list.push('$');
            list.push_str(&(first + row * columns + column).to_string());
        }
        list.push(')');
    }
    list
}

/// Splits `rows` into consecutive runs in which no key (`key` of a row) occurs twice, so that
/// an upsert of a run's rows in one statement does what upserting them one by one does (a
/// statement may not change one row twice).
pub(crate) fn distinct_runs<T, K: PartialEq>(
    rows: &[T],
    key: impl Fn(&T) -> K,
) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = 1;
        while end < rest.len() && !rest[..end].iter().any(|r| key(r) == key(&rest[end])) {
            end += 1;
        }
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_in_order() {
        let rows: Vec<usize> = (0..100).collect();
        let lengths: Vec<usize> = chunks(&rows).map(<[usize]>::len).collect();
        assert_eq!(lengths, [64, 32, 4]);
        let rejoined: Vec<usize> = chunks(&rows).flatten().copied().collect();
        assert_eq!(rejoined, rows);
        let lengths: Vec<usize> = chunks(&rows[..7]).map(<[usize]>::len).collect();
        assert_eq!(lengths, [4, 2, 1]);
        assert_eq!(chunks::<usize>(&[]).count(), 0);
        let many: Vec<usize> = (0..200).collect();
        assert!(chunks(&many).all(|c| c.len() <= MAX_ROWS));
    }

    #[test]
    fn values_number_the_placeholders_row_by_row() {
        assert_eq!(values(2, 3, 2), "($2, $3, $4), ($5, $6, $7)");
        assert_eq!(values(1, 1, 1), "($1)");
    }

    #[test]
    fn runs_never_repeat_a_key() {
        let rows = ["a", "b", "c", "b", "d", "b", "b"];
        let runs: Vec<&[&str]> = distinct_runs(&rows, |r| *r).collect();
        assert_eq!(
            runs,
            [
                &["a", "b", "c"][..],
                &["b", "d"][..],
                &["b"][..],
                &["b"][..]
            ]
        );
    }
}
