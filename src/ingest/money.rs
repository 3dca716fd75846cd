//! Decimal amounts → integer minor units, exactly (no floats on the way).

/// Convert a decimal amount (`49.99`, `"5"`, `1e2`) to minor units of a currency with the given
/// exponent. More fractional digits than the currency has is an error, never a rounding.
pub fn to_minor_units(text: &str, exponent: u8) -> Result<i64, String> {
    let text = text.trim();
    let (mantissa, exp10) = match text.find(['e', 'E']) {
        Some(i) => (
            &text[..i],
            text[i + 1..]
                .parse::<i32>()
                .map_err(|_| format!("`{text}` is not a number"))?,
        ),
        None => (text, 0),
    };
    let (neg, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
    {
        return Err(format!("`{text}` is not a number"));
    }
    // All digits as one integer, and the power of ten that places the decimal point.
    let all: String = format!("{int_part}{frac_part}");
    let scale = exp10 - frac_part.len() as i32 + exponent as i32;
    let all = all.trim_start_matches('0');
    let mut value: i128 = if all.is_empty() {
        0
    } else {
        all.parse().map_err(|_| format!("`{text}` is too large"))?
    };
    if scale >= 0 {
        for _ in 0..scale {
            value = value
                .checked_mul(10)
                .ok_or_else(|| format!("`{text}` is too large"))?;
        }
    } else {
        for _ in 0..(-scale) {
            if value % 10 != 0 {
                return Err(format!(
                    "`{text}` has more decimals than the currency allows ({exponent})"
                ));
            }
            value /= 10;
        }
    }
    let value = if neg { -value } else { value };
    i64::try_from(value).map_err(|_| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::to_minor_units as m;

    #[test]
    fn exact_conversion() {
        assert_eq!(m("49.99", 2), Ok(4999));
        assert_eq!(m("0.1", 2), Ok(10));
        assert_eq!(m("5", 2), Ok(500));
        assert_eq!(m("1200", 0), Ok(1200));
        assert_eq!(m("-3.5", 2), Ok(-350));
        assert_eq!(m("1e2", 2), Ok(10000));
        assert_eq!(
            m("1.50", 0),
            Err("`1.50` has more decimals than the currency allows (0)".into())
        );
        assert_eq!(
            m("1.5", 0),
            Err("`1.5` has more decimals than the currency allows (0)".into())
        );
        assert_eq!(m("1.000", 0), Ok(1));
        assert!(m("abc", 2).is_err());
        assert!(m("", 2).is_err());
    }
}
