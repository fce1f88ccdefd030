//! Sizes as Redis writes them in its configuration (`64mb`, `1gb`, `512`).

/// Parses Redis memory units: plain bytes, k/kb, m/mb, g/gb (k = 1000, kb = 1024).
pub fn parse_memory(value: &str) -> Result<u64, String> {
    let lower = value.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("Invalid memory value '{value}'"))?;
    let multiplier = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("Invalid memory value '{value}'")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("Invalid memory value '{value}'"))
}
