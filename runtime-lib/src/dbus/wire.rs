//! The D-Bus wire format (little-endian), for the few types the systemd
//! driver sends and reads: basic types, arrays, structs, variants.

use serde::Serialize;

/// A D-Bus value. An array carries its element signature, so that an empty
/// one has a type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// `y`
    Byte(u8),
    /// `b`
    Bool(bool),
    /// `n`
    I16(i16),
    /// `q`
    U16(u16),
    /// `i`
    I32(i32),
    /// `u`
    U32(u32),
    /// `x`
    I64(i64),
    /// `t`
    U64(u64),
    /// `s`
    Str(String),
    /// `o`
    Path(String),
    /// `g`
    Signature(String),
    /// `a` of `elem`.
    Array {
        /// The element signature.
        elem: String,
        /// The elements, each of that signature.
        items: Vec<Value>,
    },
    /// `(...)`
    Struct(Vec<Value>),
    /// `v`
    Variant(Box<Value>),
}

impl Value {
    /// An array of strings (`as`).
    pub fn strings<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::Array {
            elem: "s".into(),
            items: items.into_iter().map(|s| Value::Str(s.into())).collect(),
        }
    }

    /// This value's type signature.
    pub fn signature(&self) -> String {
        match self {
            Value::Byte(_) => "y".into(),
            Value::Bool(_) => "b".into(),
            Value::I16(_) => "n".into(),
            Value::U16(_) => "q".into(),
            Value::I32(_) => "i".into(),
            Value::U32(_) => "u".into(),
            Value::I64(_) => "x".into(),
            Value::U64(_) => "t".into(),
            Value::Str(_) => "s".into(),
            Value::Path(_) => "o".into(),
            Value::Signature(_) => "g".into(),
            Value::Array { elem, .. } => format!("a{elem}"),
            Value::Struct(fields) => {
                let inner: String = fields.iter().map(Value::signature).collect();
                format!("({inner})")
            }
            Value::Variant(_) => "v".into(),
        }
    }
}

/// Why bytes could not be read as D-Bus values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed D-Bus data: {0}")]
pub struct Malformed(pub String);

fn malformed(what: impl Into<String>) -> Malformed {
    Malformed(what.into())
}

/// The alignment of a type by its signature's first character.
fn alignment(code: u8) -> usize {
    match code {
        b'y' | b'g' | b'v' => 1,
        b'n' | b'q' => 2,
        b'b' | b'i' | b'u' | b'a' | b's' | b'o' | b'h' => 4,
        _ => 8, // x t d ( {
    }
}

/// Bytes being written, aligned from the start of the message.
#[derive(Default)]
pub struct Writer {
    /// The message so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// Pads to a multiple of `n`.
    pub fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }

    fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn string(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    fn signature(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    /// Appends `v`.
    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Byte(b) => self.buf.push(*b),
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::I16(n) => self.fixed(2, &n.to_le_bytes()),
            Value::U16(n) => self.fixed(2, &n.to_le_bytes()),
            Value::I32(n) => self.fixed(4, &n.to_le_bytes()),
            Value::U32(n) => self.u32(*n),
            Value::I64(n) => self.fixed(8, &n.to_le_bytes()),
            Value::U64(n) => self.fixed(8, &n.to_le_bytes()),
            Value::Str(s) | Value::Path(s) => self.string(s),
            Value::Signature(s) => self.signature(s),
            Value::Array { elem, items } => {
                self.u32(0);
                let len_at = self.buf.len() - 4;
                self.align(alignment(elem.as_bytes().first().copied().unwrap_or(b'y')));
                let start = self.buf.len();
                for item in items {
                    self.value(item);
                }
                let len = (self.buf.len() - start) as u32;
                self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
            Value::Struct(fields) => {
                self.align(8);
                for f in fields {
                    self.value(f);
                }
            }
            Value::Variant(inner) => {
                self.signature(&inner.signature());
                self.value(inner);
            }
        }
    }

    fn fixed(&mut self, align: usize, bytes: &[u8]) {
        self.align(align);
        self.buf.extend_from_slice(bytes);
    }
}

/// Bytes being read, aligned from the start of the message.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads `buf` from its start, which is the start of the message (or
    /// 8-aligned within it).
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Where it is.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Skips to a multiple of `n`.
    pub fn align(&mut self, n: usize) -> Result<(), Malformed> {
        let to = self.pos.div_ceil(n) * n;
        if to > self.buf.len() {
            return Err(malformed("padding past the end"));
        }
        self.pos = to;
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| malformed("value past the end"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        self.align(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        self.fixed::<4>().map(u32::from_le_bytes)
    }

    fn text(&mut self, len: usize) -> Result<String, Malformed> {
        let bytes = self.take(len)?;
        if self.take(1)? != [0] {
            return Err(malformed("string without its nul"));
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| malformed("string not UTF-8"))
    }

    /// Reads the values of a whole signature, in order.
    pub fn values(&mut self, signature: &str) -> Result<Vec<Value>, Malformed> {
        let mut rest = signature.as_bytes();
        let mut out = Vec::new();
        while !rest.is_empty() {
            let one = single(rest)?;
            out.push(self.value(one, 0)?);
            rest = &rest[one.len()..];
        }
        Ok(out)
    }

    /// Reads one value of the single complete type `sig`.
    fn value(&mut self, sig: &[u8], depth: usize) -> Result<Value, Malformed> {
        if depth > 32 {
            return Err(malformed("nested too deep"));
        }
        Ok(match sig.first().copied().unwrap_or(0) {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => Value::Bool(self.u32()? != 0),
            b'n' => Value::I16(i16::from_le_bytes(self.fixed()?)),
            b'q' => Value::U16(u16::from_le_bytes(self.fixed()?)),
            b'i' => Value::I32(i32::from_le_bytes(self.fixed()?)),
            b'u' => Value::U32(self.u32()?),
            b'x' => Value::I64(i64::from_le_bytes(self.fixed()?)),
            b't' => Value::U64(u64::from_le_bytes(self.fixed()?)),
            b's' => {
                let len = self.u32()? as usize;
                Value::Str(self.text(len)?)
            }
            b'o' => {
                let len = self.u32()? as usize;
                Value::Path(self.text(len)?)
            }
            b'g' => {
                let len = usize::from(self.take(1)?[0]);
                Value::Signature(self.text(len)?)
            }
            b'a' => self.array(&sig[1..], depth)?,
            b'(' | b'{' => {
                self.align(8)?;
                let mut inner = &sig[1..sig.len() - 1];
                let mut fields = Vec::new();
                while !inner.is_empty() {
                    let one = single(inner)?;
                    fields.push(self.value(one, depth + 1)?);
                    inner = &inner[one.len()..];
                }
                Value::Struct(fields)
            }
            b'v' => {
                let Value::Signature(inner) = self.value(b"g", depth)? else {
                    return Err(malformed("variant without a signature"));
                };
                let one = single(inner.as_bytes())?;
                if one.len() != inner.len() {
                    return Err(malformed("variant signature of more than one type"));
                }
                Value::Variant(Box::new(self.value(one, depth + 1)?))
            }
            other => return Err(malformed(format!("unsupported type {:?}", other as char))),
        })
    }

    fn array(&mut self, elem: &[u8], depth: usize) -> Result<Value, Malformed> {
        let len = self.u32()? as usize;
        self.align(alignment(elem.first().copied().unwrap_or(b'y')))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| malformed("array past the end"))?;
        let mut items = Vec::new();
        while self.pos < end {
            items.push(self.value(elem, depth + 1)?);
        }
        if self.pos != end {
            return Err(malformed("array length does not match its elements"));
        }
        Ok(Value::Array {
            elem: String::from_utf8_lossy(elem).into_owned(),
            items,
        })
    }
}

/// The first single complete type of a signature.
pub fn single(sig: &[u8]) -> Result<&[u8], Malformed> {
    let len = single_len(sig, 0)?;
    Ok(&sig[..len])
}

fn single_len(sig: &[u8], depth: usize) -> Result<usize, Malformed> {
    if depth > 32 {
        return Err(malformed("signature nested too deep"));
    }
    match sig.first() {
        None => Err(malformed("signature ends early")),
        Some(b'a') => Ok(1 + single_len(&sig[1..], depth + 1)?),
        Some(open @ (b'(' | b'{')) => {
            let close = if *open == b'(' { b')' } else { b'}' };
            let mut at = 1;
            while sig.get(at) != Some(&close) {
                if at >= sig.len() {
                    return Err(malformed("unclosed struct in signature"));
                }
                at += single_len(&sig[at..], depth + 1)?;
            }
            Ok(at + 1)
        }
        Some(
            b'y' | b'b' | b'n' | b'q' | b'i' | b'u' | b'x' | b't' | b'd' | b's' | b'o' | b'g'
            | b'v' | b'h',
        ) => Ok(1),
        Some(c) => Err(malformed(format!(
            "unknown type {:?} in signature",
            *c as char
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[Value]) -> Vec<Value> {
        let mut w = Writer::default();
        let sig: String = values.iter().map(Value::signature).collect();
        for v in values {
            w.value(v);
        }
        Reader::new(&w.buf).values(&sig).unwrap()
    }

    #[test]
    fn values_survive_a_round_trip() {
        let props = Value::Array {
            elem: "(sv)".into(),
            items: vec![
                Value::Struct(vec![
                    Value::Str("Delegate".into()),
                    Value::Variant(Box::new(Value::Bool(true))),
                ]),
                Value::Struct(vec![
                    Value::Str("PIDs".into()),
                    Value::Variant(Box::new(Value::Array {
                        elem: "u".into(),
                        items: vec![Value::U32(42)],
                    })),
                ]),
                Value::Struct(vec![
                    Value::Str("MemoryMax".into()),
                    Value::Variant(Box::new(Value::U64(1 << 30))),
                ]),
            ],
        };
        let empty = Value::Array {
            elem: "(sa(sv))".into(),
            items: vec![],
        };
        let values = vec![
            Value::Str("cella-x.scope".into()),
            Value::Byte(7),
            props,
            empty,
            Value::I16(-2),
            Value::Path("/org/freedesktop/systemd1/job/7".into()),
        ];
        assert_eq!(round_trip(&values), values);
    }

    #[test]
    fn encoding_matches_the_specification() {
        // "s" of "ab": length 2, bytes, nul; then a u64 aligned to 8.
        let mut w = Writer::default();
        w.value(&Value::Str("ab".into()));
        w.value(&Value::U64(1));
        assert_eq!(
            w.buf,
            [2, 0, 0, 0, b'a', b'b', 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
        );
        // An empty array of u64: its length, then padding to 8 that the
        // length does not count.
        let mut w = Writer::default();
        w.value(&Value::Array {
            elem: "t".into(),
            items: vec![],
        });
        assert_eq!(w.buf, [0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for (bytes, sig) in [
            (&[9u8, 0, 0, 0, b'a'][..], "s"),
            (&[1, 0, 0, 0, b'a', 1][..], "s"),
            (&[0xff, 0xff, 0xff, 0xff][..], "au"),
            (&[3, b'a', b'b'][..], "v"),
            (&[][..], "(u"),
            (&[][..], "z"),
        ] {
            assert!(Reader::new(bytes).values(sig).is_err(), "{sig}");
        }
    }

    #[test]
    fn signatures_split_into_single_types() {
        assert_eq!(single(b"a(sv)s").unwrap(), b"a(sv)");
        assert_eq!(single(b"a{sv}").unwrap(), b"a{sv}");
        assert_eq!(single(b"(sa(sv))u").unwrap(), b"(sa(sv))");
        assert!(single(b"a").is_err());
        assert!(single(b"(s").is_err());
    }
}
