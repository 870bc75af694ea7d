//! Reading `/proc/<pid>/mountinfo` (proc(5)): the kernel writes a space,
//! tab, newline and backslash in a path as `\040`, `\011`, `\012` and
//! `\134` (the separators of the format), so every path read from it must
//! be unescaped before it is compared with a real one.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// A path field of mountinfo (the root or the mount point) as the path it
/// names. Any `\` followed by three octal digits is a byte, as the kernel's
/// `seq_escape` writes it; the result keeps bytes that are not UTF-8.
pub fn unescape(field: &str) -> PathBuf {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| {
            d.iter().all(|c| (b'0'..=b'7').contains(c)) && d[0] <= b'3' // at most \377
        });
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

/// The mount points of a mountinfo text (field 5 of each line), unescaped.
pub fn mount_points(text: &str) -> impl Iterator<Item = PathBuf> + '_ {
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape)
}

/// Each mount's id and its parent's id (fields 1 and 2 of each line).
pub fn ids(text: &str) -> impl Iterator<Item = (u64, u64)> + '_ {
    text.lines().filter_map(|l| {
        let mut f = l.split(' ');
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn unescapes_the_four_escaped_characters() {
        assert_eq!(unescape("/a\\040b"), PathBuf::from("/a b"));
        assert_eq!(unescape("/t\\011ab"), PathBuf::from("/t\tab"));
        assert_eq!(unescape("/n\\012l"), PathBuf::from("/n\nl"));
        assert_eq!(unescape("/back\\134slash"), PathBuf::from("/back\\slash"));
        assert_eq!(
            unescape("/x\\040y\\040\\134040"),
            PathBuf::from("/x y \\040")
        );
    }

    #[test]
    fn leaves_what_is_not_an_escape() {
        assert_eq!(unescape("/plain"), PathBuf::from("/plain"));
        assert_eq!(unescape("/a\\04"), PathBuf::from("/a\\04"));
        assert_eq!(unescape("/a\\"), PathBuf::from("/a\\"));
        assert_eq!(unescape("/a\\089"), PathBuf::from("/a\\089"));
        assert_eq!(unescape("/a\\400"), PathBuf::from("/a\\400"));
        assert_eq!(unescape(""), PathBuf::new());
    }

    #[test]
    fn keeps_bytes_that_are_not_utf8() {
        assert_eq!(unescape("/\\377").as_os_str().as_bytes(), b"/\xff");
    }

    #[test]
    fn mount_points_of_a_text() {
        let text = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                    30 22 0:40 / /srv/with\\040space rw shared:5 - tmpfs t rw\n";
        let got: Vec<PathBuf> = mount_points(text).collect();
        assert_eq!(got, [PathBuf::from("/"), PathBuf::from("/srv/with space")]);
        assert_eq!(ids(text).collect::<Vec<_>>(), [(22, 1), (30, 22)]);
    }
}
