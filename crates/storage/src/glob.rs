//! Redis glob matching (util.c stringmatchlen): `*`, `?`, `[a-z]`, `[^a]`, `\x` escapes, with
//! optional case folding. Iterative, so long patterns cannot exhaust the stack.

#[inline]
fn fold(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

/// Matches the single-character element of `pat` that starts at `p` (not a `*`) against `c`.
/// Returns whether it matched and where the next element starts.
fn match_element(pat: &[u8], mut p: usize, c: u8, nocase: bool) -> (bool, usize) {
    match pat[p] {
        b'?' => (true, p + 1),
        b'[' => {
            p += 1;
            let negate = pat.get(p) == Some(&b'^');
            if negate {
                p += 1;
            }
            let mut matched = false;
            loop {
                let rest = pat.len() - p;
                match pat.get(p) {
                    Some(b'\\') if rest >= 2 => {
                        p += 1;
                        if pat[p] == c {
                            matched = true;
                        }
                    }
                    Some(b']') => break,
                    None => {
                        // Unterminated class: Redis steps back so that the pattern ends here.
                        p -= 1;
                        break;
                    }
                    Some(&first) if rest >= 3 && pat[p + 1] == b'-' => {
                        // C compares plain (signed) chars here.
                        let mut start = first as i8 as i32;
                        let mut end = pat[p + 2] as i8 as i32;
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let mut ch = c as i8 as i32;
                        if nocase {
                            start = lower_signed(start);
                            end = lower_signed(end);
                            ch = lower_signed(ch);
                        }
                        p += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    }
                    Some(&lit) => {
                        if fold(lit, nocase) == fold(c, nocase) {
                            matched = true;
                        }
                    }
                }
                p += 1;
            }
            (matched != negate, p + 1)
        }
        b'\\' if pat.len() - p >= 2 => (fold(pat[p + 1], nocase) == fold(c, nocase), p + 2),
        lit => (fold(lit, nocase) == fold(c, nocase), p + 1),
    }
}

fn lower_signed(c: i32) -> i32 {
    if (b'A' as i32..=b'Z' as i32).contains(&c) {
        c + 32
    } else {
        c
    }
}

/// Redis glob matching with stringmatchlen semantics.
pub fn glob_match(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    if text.is_empty() {
        // Redis never enters its loop for an empty string: only the empty pattern matches.
        return pattern.is_empty();
    }
    let (mut p, mut s) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern position after it, text position).
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        if s == text.len() {
            while pat_at(pattern, p) == Some(b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
        } else if pat_at(pattern, p) == Some(b'*') {
            while pat_at(pattern, p) == Some(b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            backtrack = Some((p, s));
            continue;
        } else if p < pattern.len() {
            let (ok, next) = match_element(pattern, p, text[s], nocase);
            if ok {
                p = next;
                s += 1;
                continue;
            }
        }
        match backtrack {
            Some((bp, bs)) if bs + 1 < text.len() => {
                backtrack = Some((bp, bs + 1));
                p = bp;
                s = bs + 1;
            }
            _ => return false,
        }
    }
}

#[inline]
fn pat_at(pattern: &[u8], p: usize) -> Option<u8> {
    pattern.get(p).copied()
}

#[cfg(test)]
mod tests {
    use super::glob_match as m;

    #[test]
    fn basics() {
        assert!(m(b"*", b"anything", false));
        assert!(!m(b"*", b"", false));
        assert!(m(b"", b"", false));
        assert!(m(b"h?llo", b"hello", false));
        assert!(!m(b"h?llo", b"hllo", false));
        assert!(m(b"h*llo", b"heeeello", false));
        assert!(m(b"h*llo", b"hllo", false));
        assert!(m(b"h[ae]llo", b"hallo", false));
        assert!(!m(b"h[ae]llo", b"hillo", false));
        assert!(m(b"h[^e]llo", b"hallo", false));
        assert!(!m(b"h[^e]llo", b"hello", false));
        assert!(m(b"h[a-b]llo", b"hbllo", false));
        assert!(m(b"h[b-a]llo", b"hbllo", false));
        assert!(m(b"h\\*llo", b"h*llo", false));
        assert!(!m(b"h\\*llo", b"hello", false));
        assert!(m(b"HELLO", b"hello", true));
        assert!(!m(b"HELLO", b"hello", false));
        assert!(m(b"a*b*c", b"aXXbYYc", false));
        assert!(!m(b"a*b*c", b"aXXbYY", false));
        assert!(m(b"*a", b"aaa", false));
        assert!(m(b"a**", b"a", false));
        assert!(m(b"a*", b"a", false));
        assert!(!m(b"a*?", b"a", false));
        assert!(m(b"a*?", b"ab", false));
    }

    #[test]
    fn quirks() {
        // Unterminated class never matches; "[^" matches any one character.
        assert!(!m(b"[", b"a", false));
        assert!(m(b"[^", b"a", false));
        assert!(m(b"[a", b"a", false));
        assert!(!m(b"[a", b"ab", false));
        // Range ending with ']' when it is the third character.
        assert!(m(b"[a-]", b"_", false));
        assert!(!m(b"[a-]", b"b", false));
        // Trailing backslash is literal.
        assert!(m(b"a\\", b"a\\", false));
        // Escaped char in class.
        assert!(m(b"[\\]]", b"]", false));
        // Signed char ranges: 'a'..0xff is -1..97 in C.
        assert!(!m(b"[a-\xff]", b"b", false));
        assert!(m(b"[a-\xff]", b"\x00", false));
    }

    #[test]
    fn long_pattern_no_stack_overflow() {
        let pat: Vec<u8> = b"*a".iter().cycle().take(200_000).copied().collect();
        let text = vec![b'a'; 1000];
        assert!(!m(&pat, &text, false));
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Pattern/text pairs checked with KEYS against redis-server 7.0.15.
    #[test]
    fn matches_redis_table() {
        let table = include_str!("testdata/glob_cases.txt");
        let mut n = 0;
        for line in table.lines().filter(|l| !l.starts_with('#')) {
            let mut parts = line.split(' ');
            let (p, t, r) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            let (p, t) = (unhex(p), unhex(t));
            assert_eq!(
                m(&p, &t, false),
                r == "1",
                "pattern {:?} text {:?}",
                String::from_utf8_lossy(&p),
                String::from_utf8_lossy(&t)
            );
            n += 1;
        }
        assert!(n > 4000);
    }
}
