//! The path limify matches: the request's path normalised, so that
//! "/api/../admin" or "/%61dmin" cannot escape a rule on "/admin".

use std::borrow::Cow;

/// Percent-decodes each segment (one that would decode to a "/" or to
/// invalid UTF-8 stays as it was), drops empty and "." segments, and applies
/// ".." (never above the root).
pub(crate) fn normalize(path: &str) -> Cow<'_, str> {
    let plain = path.starts_with('/')
        && !path.contains('%')
        && !path.contains("//")
        && !path.contains("/.")
        && (path.len() == 1 || !path.ends_with('/'));
    if plain {
        return Cow::Borrowed(path);
    }
    let mut segments: Vec<Cow<'_, str>> = Vec::new();
    for raw in path.split('/') {
        let segment = decode(raw);
        match segment.as_ref() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    Cow::Owned(out)
}

fn decode(segment: &str) -> Cow<'_, str> {
    if !segment.contains('%') {
        return Cow::Borrowed(segment);
    }
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(decoded) if !decoded.contains('/') && !decoded.contains('\0') => Cow::Owned(decoded),
        _ => Cow::Borrowed(segment),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn ordinary_paths_are_borrowed_unchanged() {
        for path in ["/", "/search", "/api/v1/items/42", "/a.b/c.d"] {
            assert!(matches!(normalize(path), std::borrow::Cow::Borrowed(p) if p == path));
        }
    }

    #[test]
    fn dot_segments_and_percent_encoding_cannot_escape_a_rule() {
        assert_eq!(normalize("/api/../admin"), "/admin");
        assert_eq!(normalize("/api/%2e%2e/admin"), "/admin");
        assert_eq!(normalize("/%61dmin/users"), "/admin/users");
        assert_eq!(normalize("/./admin/."), "/admin");
        assert_eq!(normalize("/../../admin"), "/admin");
        assert_eq!(normalize("//admin//x/"), "/admin/x");
        assert_eq!(normalize(""), "/");
        assert_eq!(normalize("admin"), "/admin");
    }

    #[test]
    fn an_encoded_slash_or_bad_utf8_stays_inside_its_segment() {
        assert_eq!(normalize("/files/a%2Fb"), "/files/a%2Fb");
        assert_eq!(normalize("/files/%ff"), "/files/%ff");
        assert_eq!(normalize("/files/100%"), "/files/100%");
        assert_eq!(normalize("/files/%00"), "/files/%00");
        assert_eq!(normalize("/caf%C3%A9"), "/café");
    }
}
