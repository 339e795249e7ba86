//! Wall-clock helpers; one place so every module agrees on units.
pub fn now_secs() -> i64 {
    now_millis() / 1000
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

tokio::task_local! {
    /// When the current invocation must have answered (ms since the epoch), from Lambda's context.
    static DEADLINE_MS: i64;
}

/// Runs `fut` with the invocation's deadline in scope, so retries deep below can respect it.
pub async fn with_deadline<F: std::future::Future>(deadline_ms: i64, fut: F) -> F::Output {
    DEADLINE_MS.scope(deadline_ms, fut).await
}

/// Milliseconds left before the invocation's deadline; `None` outside an invocation (tests, tools).
pub fn time_left_ms() -> Option<i64> {
    DEADLINE_MS.try_with(|d| *d - now_millis()).ok()
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving), as Alipay's `timestamp` parameter wants.
pub fn beijing_datetime(secs: i64) -> String {
    let local = secs + 8 * 3600;
    let (days, rest) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), by 400-year eras.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The inverse of `beijing_datetime`: seconds since the epoch of a `yyyy-MM-dd HH:mm:ss` Beijing time.
pub fn parse_beijing_datetime(text: &str) -> Option<i64> {
    let (date, time) = text.trim().split_once(' ')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // A civil date to days since 1970-01-01, by 400-year eras (the inverse of the conversion above).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - 8 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_times_parse_back_to_the_same_instant() {
        for secs in [
            0,
            951_782_400,
            1_704_081_600,
            1_709_224_205,
            1_795_276_799,
            4_102_444_800,
        ] {
            assert_eq!(parse_beijing_datetime(&beijing_datetime(secs)), Some(secs));
        }
        assert_eq!(
            parse_beijing_datetime("2019-08-15 15:56:25"),
            Some(1_565_855_785)
        );
        for bad in [
            "",
            "2019-08-15",
            "2019-13-01 00:00:00",
            "2019-08-15 24:00:00",
            "x-y-z a:b:c",
        ] {
            assert_eq!(parse_beijing_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn beijing_time_is_eight_hours_ahead_across_days_and_leap_years() {
        assert_eq!(beijing_datetime(0), "1970-01-01 08:00:00");
        // 2024-02-29 16:30:05 UTC is already 1 March in Beijing.
        assert_eq!(beijing_datetime(1_709_224_205), "2024-03-01 00:30:05");
        assert_eq!(beijing_datetime(1_704_081_600), "2024-01-01 12:00:00");
        assert_eq!(beijing_datetime(951_782_400), "2000-02-29 08:00:00");
    }
}
