//! The values of `org.systemd.property.*` annotations, in GVariant's text
//! format as runc reads them: `uint64 123`, `true`, `'inactive-or-failed'`,
//! `['a', 'b']`, `@as []`. Numbers without a type are `int32`, as in
//! GVariant. Dictionaries, tuples, maybes and nested variants are not
//! read: such a value is refused, naming the annotation.

use crate::dbus::wire::Value;

/// A parsed value: doubles are kept apart, since only a `...Sec` property
/// (converted to microseconds) can use one.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    /// A D-Bus value.
    Value(Value),
    /// A `double`.
    Double(f64),
}

/// Parses one value.
pub fn parse(text: &str) -> Result<Parsed, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    let v = p.value(None)?;
    p.skip_space();
    if p.at != p.s.len() {
        return Err(format!("unexpected {:?} after the value", p.rest()));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

/// A type keyword's D-Bus code.
const KEYWORDS: [(&str, char); 12] = [
    ("boolean", 'b'),
    ("byte", 'y'),
    ("int16", 'n'),
    ("uint16", 'q'),
    ("int32", 'i'),
    ("uint32", 'u'),
    ("int64", 'x'),
    ("uint64", 't'),
    ("double", 'd'),
    ("string", 's'),
    ("objectpath", 'o'),
    ("signature", 'g'),
];

impl Parser<'_> {
    fn rest(&self) -> String {
        String::from_utf8_lossy(&self.s[self.at..]).into_owned()
    }

    fn skip_space(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn word(&mut self) -> &str {
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.' | b'_'))
        {
            self.at += 1;
        }
        std::str::from_utf8(&self.s[start..self.at]).unwrap_or("")
    }

    /// One value, of the D-Bus type `want` when the context says.
    fn value(&mut self, want: Option<&str>) -> Result<Parsed, String> {
        self.skip_space();
        match self.s.get(self.at) {
            None => Err("no value".into()),
            Some(b'@') => {
                self.at += 1;
                let sig = self.word().to_string();
                self.value(Some(&sig))
            }
            Some(b'[') => self.array(want),
            Some(b'\'' | b'"') => {
                let s = self.string()?;
                Ok(Parsed::Value(match want {
                    None | Some("s") => Value::Str(s),
                    Some("o") => Value::Path(s),
                    Some("g") => Value::Signature(s),
                    Some(other) => return Err(format!("a string where {other} was wanted")),
                }))
            }
            Some(_) => {
                let word = self.word().to_string();
                if let Some((_, code)) = KEYWORDS.iter().find(|(k, _)| *k == word) {
                    if want.is_some_and(|w| w != code.to_string()) {
                        return Err(format!("{word} where {} was wanted", want.unwrap_or("")));
                    }
                    return self.value(Some(&code.to_string()));
                }
                scalar(&word, want)
            }
        }
    }

    fn array(&mut self, want: Option<&str>) -> Result<Parsed, String> {
        let mut elem = match want {
            Some(w) => Some(
                w.strip_prefix('a')
                    .ok_or_else(|| format!("an array where {w} was wanted"))?
                    .to_string(),
            ),
            None => None,
        };
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if self.s.get(self.at) == Some(&b']') {
                self.at += 1;
                break;
            }
            if !items.is_empty() {
                if self.s.get(self.at) != Some(&b',') {
                    return Err(format!("expected , or ] at {:?}", self.rest()));
                }
                self.at += 1;
            }
            let Parsed::Value(v) = self.value(elem.as_deref())? else {
                return Err("arrays of doubles are not supported".into());
            };
            elem.get_or_insert_with(|| v.signature());
            items.push(v);
        }
        let elem = elem.ok_or("an empty array needs its type: @as []")?;
        Ok(Parsed::Value(Value::Array { elem, items }))
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.s[self.at];
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.at).ok_or("unterminated string")?;
            self.at += 1;
            match c {
                _ if c == quote => break,
                b'\\' => {
                    let e = *self.s.get(self.at).ok_or("unterminated string")?;
                    self.at += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'a' => 7,
                        b'b' => 8,
                        b'f' => 12,
                        b'v' => 11,
                        other => other,
                    });
                }
                _ => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| "string not UTF-8".into())
    }
}

/// A bare word: a boolean or a number, of type `want` (a number without
/// one is `int32`, or `double` with a point or an exponent).
fn scalar(word: &str, want: Option<&str>) -> Result<Parsed, String> {
    let bad = || format!("{word:?} is not a value of type {}", want.unwrap_or("any"));
    match (word, want) {
        ("true" | "false", None | Some("b")) => {
            return Ok(Parsed::Value(Value::Bool(word == "true")))
        }
        (_, Some("d")) => return word.parse().map(Parsed::Double).map_err(|_| bad()),
        (_, None) if word.contains(['.', 'e', 'E']) && !word.starts_with("0x") => {
            return word.parse().map(Parsed::Double).map_err(|_| bad())
        }
        _ => {}
    }
    let n = integer(word).ok_or_else(bad)?;
    let v = match want.unwrap_or("i") {
        "y" => Value::Byte(u8::try_from(n).map_err(|_| bad())?),
        "n" => Value::I16(i16::try_from(n).map_err(|_| bad())?),
        "q" => Value::U16(u16::try_from(n).map_err(|_| bad())?),
        "i" => Value::I32(i32::try_from(n).map_err(|_| bad())?),
        "u" => Value::U32(u32::try_from(n).map_err(|_| bad())?),
        "x" => Value::I64(i64::try_from(n).map_err(|_| bad())?),
        "t" => Value::U64(u64::try_from(n).map_err(|_| bad())?),
        _ => return Err(bad()),
    };
    Ok(Parsed::Value(v))
}

fn integer(word: &str) -> Option<i128> {
    let (neg, digits) = match word.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, word.strip_prefix('+').unwrap_or(word)),
    };
    let n = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        match parse(text).unwrap() {
            Parsed::Value(v) => v,
            Parsed::Double(d) => panic!("double {d}"),
        }
    }

    #[test]
    fn reads_what_runc_documents() {
        assert_eq!(v("uint64 123456789"), Value::U64(123_456_789));
        assert_eq!(
            v("'inactive-or-failed'"),
            Value::Str("inactive-or-failed".into())
        );
        assert_eq!(v("\"x\""), Value::Str("x".into()));
        assert_eq!(v("456"), Value::I32(456));
        assert_eq!(v("true"), Value::Bool(true));
        assert_eq!(v("byte 234"), Value::Byte(234));
        assert_eq!(v("int16 -2"), Value::I16(-2));
        assert_eq!(v("uint32 0x10"), Value::U32(16));
        assert_eq!(v("['a', 'b']"), Value::strings(["a", "b"]));
        assert_eq!(v("@as []"), Value::strings(Vec::<String>::new()));
        assert_eq!(
            v("[uint32 1, 2]"),
            Value::Array {
                elem: "u".into(),
                items: vec![Value::U32(1), Value::U32(2)]
            }
        );
        assert_eq!(v("objectpath '/a'"), Value::Path("/a".into()));
        assert_eq!(v("'it\\'s'"), Value::Str("it's".into()));
        assert_eq!(parse("1.5").unwrap(), Parsed::Double(1.5));
        assert_eq!(parse("double 2").unwrap(), Parsed::Double(2.0));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in [
            "",
            "[]",
            "byte 300",
            "uint64 -1",
            "{'a': 1}",
            "(1, 2)",
            "'open",
            "1 2",
            "[1, 'a']",
            "int32 'x'",
            "nothing",
            "[1.5]",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was read");
        }
    }
}
