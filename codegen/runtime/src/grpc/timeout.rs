//! The `grpc-timeout` header: how a caller tells the server its remaining budget.
//!
//! Format (gRPC over HTTP/2): 1 to 8 ASCII digits and a unit, `H` hours, `M` minutes, `S`
//! seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};

/// The header (metadata key) that carries a call's deadline as a relative timeout.
pub const GRPC_TIMEOUT_HEADER: &str = "grpc-timeout";

/// The largest value the format allows in one unit (8 digits).
const MAX_VALUE: u128 = 99_999_999;

/// `d` in the `grpc-timeout` format, in the finest unit that fits in 8 digits.
///
/// Values are rounded down, so the server never believes it has longer than the caller; a
/// duration beyond the format's range (about 11,000 years) is sent as the largest value.
pub fn format_grpc_timeout(d: Duration) -> String {
    const UNITS: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    let nanos = d.as_nanos();
    for (per, unit) in UNITS {
        let value = nanos / per;
        if value <= MAX_VALUE {
            return format!("{value}{unit}");
        }
    }
    format!("{MAX_VALUE}H")
}

/// Parses a `grpc-timeout` value; `None` for anything malformed (the call then has no caller
/// deadline, as tonic and grpc-go treat it).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (&unit, digits) = value.as_bytes().split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // At most 8 digits: no overflow below, even in hours.
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The caller's timeout in `headers`, if present and well-formed.
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Duration> {
    parse_grpc_timeout(headers.get(GRPC_TIMEOUT_HEADER)?.to_str().ok()?)
}

/// Sets `grpc-timeout` in `headers` to `d`.
pub(crate) fn set(headers: &mut HeaderMap, d: Duration) {
    if let Ok(v) = HeaderValue::from_str(&format_grpc_timeout(d)) {
        headers.insert(GRPC_TIMEOUT_HEADER, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_the_finest_unit_that_fits() {
        assert_eq!(format_grpc_timeout(Duration::ZERO), "0n");
        assert_eq!(format_grpc_timeout(Duration::from_millis(50)), "50000000n");
        assert_eq!(format_grpc_timeout(Duration::from_millis(200)), "200000u");
        assert_eq!(format_grpc_timeout(Duration::from_secs(30)), "30000000u");
        assert_eq!(format_grpc_timeout(Duration::from_secs(3600)), "3600000m");
        assert_eq!(format_grpc_timeout(Duration::from_secs(200_000)), "200000S");
        assert_eq!(
            format_grpc_timeout(Duration::from_secs(100_000_000 * 60)),
            "1666666H"
        );
        assert_eq!(format_grpc_timeout(Duration::MAX), "99999999H");
        for d in [
            Duration::from_nanos(1),
            Duration::from_micros(1500),
            Duration::from_millis(200),
            Duration::from_secs(30),
            Duration::from_secs(86_400),
        ] {
            assert_eq!(
                parse_grpc_timeout(&format_grpc_timeout(d)),
                Some(d),
                "{d:?}"
            );
        }
        // Rounded down, never up.
        let d = Duration::new(123_456, 789);
        assert!(parse_grpc_timeout(&format_grpc_timeout(d)).unwrap() <= d);
    }

    #[test]
    fn parses_every_unit_and_rejects_malformed_values() {
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("4S"), Some(Duration::from_secs(4)));
        assert_eq!(parse_grpc_timeout("5m"), Some(Duration::from_millis(5)));
        assert_eq!(parse_grpc_timeout("6u"), Some(Duration::from_micros(6)));
        assert_eq!(parse_grpc_timeout("7n"), Some(Duration::from_nanos(7)));
        assert_eq!(
            parse_grpc_timeout("99999999H"),
            Some(Duration::from_secs(99_999_999 * 3600))
        );
        for bad in [
            "",
            "S",
            "5",
            "5s",
            "5x",
            "-5S",
            "+5S",
            " 5S",
            "5 S",
            "123456789S",
            "1.5S",
            "é",
            "5é",
        ] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn header_helpers() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h), None);
        set(&mut h, Duration::from_millis(250));
        assert_eq!(h[GRPC_TIMEOUT_HEADER], "250000u");
        assert_eq!(from_headers(&h), Some(Duration::from_millis(250)));
        h.insert(GRPC_TIMEOUT_HEADER, HeaderValue::from_static("soon"));
        assert_eq!(from_headers(&h), None);
    }
}
